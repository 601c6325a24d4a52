#!/usr/bin/env bash
# Installs Node 24 (the container image's runtime) from the npm registry's `node` package into the
# cache and prints the path of its bin directory. Cached by version.
set -euo pipefail
NODE24_VERSION=24.21.0
cache="${BUCKET_AGENT_CACHE:-$HOME/.cache/bucket-agent}/node-$NODE24_VERSION"
bin="$cache/node_modules/node/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-audit --no-fund "node@$NODE24_VERSION" >&2
fi
"$bin/node" --version >&2
echo "$bin"
