#!/usr/bin/env bash
# Builds the Go test tools (kube-apiserver, kube-controller-manager, kubectl, kine, SeaweedFS weed,
# helm, rclone, actionlint, mc, velero, velero-plugin-for-aws) at the versions pinned in
# scripts/tools/versions.env into ${BUCKET_AGENT_CACHE:-~/.cache/bucket-agent}/bin.
# Each build is skipped when its binary is cached, so only the first run on a machine pays (tens of
# minutes). Two lanes build side by side (BUCKET_AGENT_TOOL_LANES=1 for one): a Go build leaves a core
# idle while it downloads modules and links, and the other lane fills it. The [tools] lines (what is
# cached, what is being built, in how long) come as they happen; the compilers' output goes to
# $BUCKET_AGENT_CACHE/logs/build-tools-lane-N.log, whose tail is printed when a lane fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${BUCKET_AGENT_CACHE:-$HOME/.cache/bucket-agent}"
mkdir -p "$cache/logs"
start=$(date +%s)

# The Kubernetes builds share one Go build cache, so they stay in one lane, in this order.
lanes=(
  "kube-apiserver kube-controller-manager kubectl velero"
  "weed rclone kine helm mc velero-plugin-for-aws actionlint"
)
if [ "${BUCKET_AGENT_TOOL_LANES:-2}" = 1 ]; then lanes=("${lanes[*]}"); fi

# lane N TOOL...: builds the tools in order.
lane() {
  local n="$1" tool
  shift
  for tool in "$@"; do
    bash "$here/tools/build-$tool.sh" || { echo "[tools] lane $n: $tool failed" >&2; return 1; }
  done
}

pids=()
for i in "${!lanes[@]}"; do
  # shellcheck disable=SC2086 # the lane's tool names, split on spaces
  lane "$i" ${lanes[$i]} 2>"$cache/logs/build-tools-lane-$i.log" &
  pids+=("$!")
done
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM

failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=1
    echo "[tools] lane $i failed; the end of $cache/logs/build-tools-lane-$i.log:" >&2
    tail -n 60 "$cache/logs/build-tools-lane-$i.log" >&2
  fi
done
[ "$failed" = 0 ] || exit 1
echo "[tools] all tools ready in $(( $(date +%s) - start ))s"
