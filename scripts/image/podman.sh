#!/usr/bin/env bash
# podman with the project's configuration (scripts/image/lib.sh): the store under
# ${BUCKET_AGENT_CACHE:-~/.cache/bucket-agent}/containers, runc, the machine's ulimits.
# Usage: bash scripts/image/podman.sh images | run ... | rmi ...  (the image tests use it too)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_programs podman runc
engine_env
exec podman "$@"
