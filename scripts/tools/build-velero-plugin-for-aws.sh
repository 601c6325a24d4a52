#!/usr/bin/env bash
# Builds velero-plugin-for-aws $VELERO_AWS_PLUGIN_VERSION (the object store plugin Velero uses for
# any S3 endpoint) into the tool cache. Its go.mod has no replace directives, so `go install`.
# Plugin v1.14.x is the line for Velero v1.18.x (the plugin's README compatibility table).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=velero-plugin-for-aws
VERSION="${VELERO_AWS_PLUGIN_VERSION:?VELERO_AWS_PLUGIN_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

echo "[tools] $TOOL $VERSION: go install (a few minutes cold)"
go_install_tool "$TOOL" "$VERSION" "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@$VERSION" "-s -w"
tool_built "$TOOL" "$VERSION" "$START"
