# Shared by scripts/build-image.sh and scripts/image/podman.sh: pinned versions, cache paths, and
# podman configured by files of the project's own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), so
# the host's /etc/containers and /var/lib/containers stay as they were.
set -euo pipefail
# bash 5.2 reads & in a ${var//pattern/replacement} as the match; fill() wants it literal.
shopt -u patsub_replacement 2>/dev/null || true
IMAGE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGE_DIR/../.." && pwd)"
# shellcheck source=versions.env
source "$IMAGE_DIR/versions.env"
BUCKET_AGENT_CACHE="${BUCKET_AGENT_CACHE:-$HOME/.cache/bucket-agent}"
ENGINE_DIR="$BUCKET_AGENT_CACHE/containers"
DOWNLOADS="$ENGINE_DIR/downloads"

# Base image tags: the cache key is the version string in the tag, so a new pin builds a new base
# and an old one is simply no longer used.
MINBASE_IMAGE="localhost/bucket-agent-base:$DEBIAN_SUITE-minbase-r$BASE_REVISION"
BUILD_BASE_IMAGE="localhost/bucket-agent-base:build-node$NODE_VERSION-npm$NPM_VERSION-$DEBIAN_SUITE-r$BASE_REVISION"
RUNTIME_BASE_IMAGE="localhost/bucket-agent-base:runtime-node$NODE_VERSION-$DEBIAN_SUITE-r$BASE_REVISION"

APT_INSTALL="apt-get install -y --no-install-recommends podman runc catatonit debootstrap"

# require_programs NAME...: fail with the install command when one is missing.
require_programs() {
  local missing=()
  for p in "$@"; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "[image] missing: ${missing[*]}. Install with: $APT_INSTALL" >&2
    exit 2
  fi
}

# fill TEMPLATE OUT KEY=VALUE...: the template with each @KEY@ replaced; written only on change.
fill() {
  local template="$1" out="$2" text kv
  shift 2
  text="$(cat "$template")"
  for kv in "$@"; do text="${text//@${kv%%=*}@/${kv#*=}}"; done
  if [ ! -f "$out" ] || [ "$(cat "$out")" != "$text" ]; then printf '%s\n' "$text" >"$out"; fi
}

# engine_env: write the configs into the cache dir and export the variables podman reads.
engine_env() {
  local nofile nproc
  nofile="$(ulimit -Hn)"
  [ "$nofile" = unlimited ] && nofile=1048576
  nproc="$(ulimit -Hu)"
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  mkdir -p "$ENGINE_DIR/storage" "$ENGINE_DIR/run" "$ENGINE_DIR/tmp" "$ENGINE_DIR/networks" "$ENGINE_DIR/bin" "$DOWNLOADS"
  printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$(command -v runc)" "$ENGINE_DIR/run/runc" >"$ENGINE_DIR/bin/runc.new"
  chmod +x "$ENGINE_DIR/bin/runc.new" && mv "$ENGINE_DIR/bin/runc.new" "$ENGINE_DIR/bin/runc"
  fill "$IMAGE_DIR/containers.conf" "$ENGINE_DIR/containers.conf" \
    "NOFILE=$nofile" "NPROC=$nproc" "TMPDIR=$ENGINE_DIR/tmp" "NETDIR=$ENGINE_DIR/networks" "RUNC=$ENGINE_DIR/bin/runc"
  fill "$IMAGE_DIR/storage.conf" "$ENGINE_DIR/storage.conf" "GRAPHROOT=$ENGINE_DIR/storage" "RUNROOT=$ENGINE_DIR/run"
  export CONTAINERS_CONF="$ENGINE_DIR/containers.conf"
  export CONTAINERS_STORAGE_CONF="$ENGINE_DIR/storage.conf"
}
