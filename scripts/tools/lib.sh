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

# kube_build_from_kubernetes NAME VERSION < main.go: builds a command of the k8s.io/kubernetes
# module (kube-apiserver, kube-controller-manager) as $CACHE_BIN/NAME-VERSION; main.go comes on stdin.
#
# k8s.io/kubernetes cannot be `go install`ed directly: its go.mod requires every staging module
# (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and maps them to ./staging/src/... with `replace`,
# and replace directives of a dependency are ignored. So we generate a wrapper module that requires
# k8s.io/kubernetes and replaces each staging module with its published tag v0.<minor>.<patch>.
# The list is read from k8s.io/kubernetes's own go.mod so it follows upstream changes. Every such
# wrapper resolves the same versions, so a second command reuses the first one's Go build cache.
kube_build_from_kubernetes() {
  local name="$1" version="$2" kube_json kube_gomod kube_commit go_directive godebug_directive replaces="" mod
  local -a staging
  kube_wrapper_setup "$name" "$version"
  cat >"$WORK/main.go"

  echo "[tools] $name $version: fetching k8s.io/kubernetes go.mod"
  kube_json="$(go mod download -json "k8s.io/kubernetes@$version")"
  kube_gomod="$(echo "$kube_json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  kube_commit="$(echo "$kube_json" | sed -n 's/^[[:space:]]*"Hash": "\(.*\)",\{0,1\}$/\1/p' | sed -n 1p)"
  [ -f "$kube_gomod" ] || { echo "[tools] cannot read go.mod of k8s.io/kubernetes@$version" >&2; return 1; }
  go_directive="$(sed -n 's/^go \(.*\)$/\1/p' "$kube_gomod")"
  godebug_directive="$(sed -n 's/^godebug \(.*\)$/\1/p' "$kube_gomod")"

  # Staging modules: `k8s.io/x => ./staging/src/k8s.io/x` lines of the replace block.
  mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$kube_gomod")
  echo "[tools] $name $version: ${#staging[@]} staging modules, checking tags $STAGING_VERSION"
  for mod in "${staging[@]}"; do
    if go list -m -f '{{.Version}}' "$mod@$STAGING_VERSION" >/dev/null 2>&1; then
      replaces+=$'\t'"$mod => $mod $STAGING_VERSION"$'\n'
    elif grep -qE "^[[:space:]]+$mod v0\.0\.0" "$kube_gomod"; then
      echo "[tools] $mod $STAGING_VERSION is not published but k8s.io/kubernetes requires it" >&2
      return 1
    else
      # e.g. k8s.io/sample-controller: mapped in upstream's replace block but never required.
      echo "[tools]   skip $mod (no tag $STAGING_VERSION, not required)"
    fi
  done

  cat >"$WORK/go.mod" <<EOT
// Generated by scripts/tools/lib.sh (kube_build_from_kubernetes); do not edit.
module bucket-agent.local/$name

go $go_directive
${godebug_directive:+godebug $godebug_directive}

require k8s.io/kubernetes $version

replace (
$replaces)
EOT

  echo "[tools] $name $version: resolving dependencies (go mod tidy)"
  (cd "$WORK" && nice go mod tidy)
  echo "[tools] $name $version: go build (slow on a cold cache: thousands of packages)"
  (cd "$WORK" && nice go build -v -trimpath -ldflags "$(kube_ldflags "$version" "$kube_commit")" -o "$CACHE_BIN/$name-$version.tmp" .)
  mv "$CACHE_BIN/$name-$version.tmp" "$CACHE_BIN/$name-$version"
}

# go_build_with_replaces NAME VERSION MODULE PACKAGE LDFLAGS [REPLACE...]: builds the main PACKAGE of
# MODULE at VERSION as $CACHE_BIN/NAME-VERSION when MODULE's go.mod has replace directives (which
# `go install MODULE@VERSION` refuses, and which a requiring module would ignore). A generated
# wrapper module requires MODULE and repeats its replace directives, so the build resolves the same
# dependencies as upstream's own; each extra REPLACE (`old => new version`) is added to them.
# Replacements by a local path cannot be repeated and fail the build.
go_build_with_replaces() {
  local name="$1" version="$2" module="$3" package="$4" ldflags="$5" gomod go_directive replaces work extra
  shift 5
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local
  work="$CACHE_SRC/$name-$version"
  mkdir -p "$work"
  gomod="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$gomod" ] || { echo "[tools] cannot read go.mod of $module@$version" >&2; return 1; }
  go_directive="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod")"
  # Single-line `replace a [v] => b [v]` and the lines of `replace ( ... )` blocks, as `a [v] => b [v]`.
  replaces="$(awk '/^replace \($/ { block = 1; next } block && /^\)$/ { block = 0; next }
    block && / => / { sub(/^[ \t]+/, ""); print; next } /^replace [^(]/ && / => / { sub(/^replace /, ""); print }' "$gomod")"
  for extra in "$@"; do replaces+=$'\n'"$extra"; done
  if echo "$replaces" | awk '{ split($0, side, "=> ") } side[2] ~ /^\.?\.?\// { found = 1 } END { exit !found }'; then
    echo "[tools] $module@$version replaces a module by a local path; cannot wrap it" >&2
    return 1
  fi
  echo "[tools] $name $version: wrapper module repeating $(echo "$replaces" | grep -c . || true) replace directive(s)"
  cat >"$work/go.mod" <<EOT
// Generated by scripts/tools/lib.sh (go_build_with_replaces); do not edit.
module bucket-agent.local/$name

go $go_directive

replace (
$(echo "$replaces" | awk '{ print "\t" $0 }')
)
EOT
  (cd "$work" && nice go get "$package@$version")
  echo "[tools] $name $version: go build"
  (cd "$work" && nice go build -v -trimpath -ldflags "$ldflags" -o "$CACHE_BIN/$name-$version.tmp" "$package")
  mv "$CACHE_BIN/$name-$version.tmp" "$CACHE_BIN/$name-$version"
}
