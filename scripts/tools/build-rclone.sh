#!/usr/bin/env bash
# Builds rclone $RCLONE_VERSION into the tool cache. Debian 12's rclone 1.60 always sends
# `X-Amz-Acl: private` on uploads (rclone issue #5730, fixed in later releases), which SeaweedFS
# answers with AccessDenied for keys that, like the ones Cozystack's COSI driver grants, lack the
# WriteAcp action; the round-trip tests use the rclone a user would install today.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=rclone
VERSION="${RCLONE_VERSION:?RCLONE_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

echo "[tools] $TOOL $VERSION: go install (a few minutes cold)"
go_install_tool "$TOOL" "$VERSION" "github.com/rclone/rclone@$VERSION" "-s -w -X github.com/rclone/rclone/fs.Version=$VERSION"
# sed reads to the end, so rclone never dies of SIGPIPE under pipefail (head would exit early).
"$CACHE_BIN/$TOOL-$VERSION" version | sed -n 1p
tool_built "$TOOL" "$VERSION" "$START"
