# Shared by scripts/tools/build-*.sh: cache location, versions, timing.
# Binaries land in $BUCKET_AGENT_CACHE/bin/<tool>-<version>; a build is skipped when it is there.
set -euo pipefail
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$TOOLS_DIR/versions.env"
BUCKET_AGENT_CACHE="${BUCKET_AGENT_CACHE:-$HOME/.cache/bucket-agent}"
CACHE_BIN="$BUCKET_AGENT_CACHE/bin"
CACHE_SRC="$BUCKET_AGENT_CACHE/src"
mkdir -p "$CACHE_BIN" "$CACHE_SRC"

# tool_cached NAME VERSION: true (and says so) when the binary is already built.
tool_cached() {
  local bin="$CACHE_BIN/$1-$2"
  if [ -x "$bin" ]; then echo "[tools] $1 $2: cached at $bin"; return 0; fi
  return 1
}

# tool_built NAME VERSION START_EPOCH: report the cold build's duration.
tool_built() {
  local secs=$(( $(date +%s) - $3 ))
  echo "[tools] $1 $2: built in ${secs}s -> $CACHE_BIN/$1-$2"
}

# go_install_tool NAME VERSION MODULE_PATH@VERSION LDFLAGS: `go install` a released main package
# (one whose module has no replace directives) as $CACHE_BIN/NAME-VERSION. Static, trimmed, niced;
# the binary is moved into place last, so an interrupted build never looks cached.
go_install_tool() {
  local name="$1" version="$2" package="$3" ldflags="$4" tmp
  tmp="$(mktemp -d "$CACHE_SRC/$name-$version.XXXXXX")"
  (cd "$tmp" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= GOBIN="$tmp" nice go install -v -trimpath -ldflags "$ldflags" "$package")
  mv "$tmp/$(basename "${package%@*}")" "$CACHE_BIN/$name-$version"
  rm -rf "$tmp"
}

# kube_ldflags VERSION [COMMIT]: version stamping of a Kubernetes binary as upstream
# hack/lib/version.sh does, so `--version` prints the release (v1.37.2 -> major 1, minor 37).
kube_ldflags() {
  local version="$1" commit="${2:-}" minor pkg flags="-s -w"
  minor="$(echo "$version" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    flags+=" -X $pkg.gitCommit=$commit -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  echo "$flags"
}

# kube_wrapper_setup NAME VERSION: for a wrapper module over Kubernetes staging modules, sets
# STAGING_VERSION (v1.37.2 -> v0.37.2, the tag staging modules publish) and WORK (the wrapper's
# directory, created), and the Go environment such builds need.
kube_wrapper_setup() {
  STAGING_VERSION="v0.${2#v1.}"
  WORK="$CACHE_SRC/$1-$2"
  mkdir -p "$WORK"
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local
}
