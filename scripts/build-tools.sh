#!/usr/bin/env bash
# Builds the Go test tools (kube-apiserver, kube-controller-manager, kubectl, kine, SeaweedFS weed,
# helm, rclone, actionlint) at the versions pinned in scripts/tools/versions.env into
# ${BUCKET_AGENT_CACHE:-~/.cache/bucket-agent}/bin.
# Each build is skipped when its binary is cached, so only the first run on a machine pays (tens of minutes).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
start=$(date +%s)
for tool in kube-apiserver kube-controller-manager kubectl kine weed helm rclone actionlint; do
  bash "$here/tools/build-$tool.sh"
done
echo "[tools] all tools ready in $(( $(date +%s) - start ))s"
