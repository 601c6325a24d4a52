#!/usr/bin/env bash
# Builds the MinIO client mc $MC_VERSION into the tool cache. MinIO stopped publishing tagged mc
# releases as Go module versions, so the pin is the pseudo-version the Go proxy serves for the
# release commit (`go list -m github.com/minio/mc@latest`); its go.mod has no replace directives,
# so a plain `go install` builds it. The version stamping follows upstream's
# buildscripts/gen-ldflags.go, with the date and commit read from the pseudo-version.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=mc
VERSION="${MC_VERSION:?MC_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

# v0.0.0-20250313080218-cf909e1063a9 -> 2025-03-13T08:02:18Z and commit cf909e1063a9.
STAMP="$(echo "$VERSION" | cut -d- -f2)"
COMMIT="$(echo "$VERSION" | cut -d- -f3)"
RELEASE_TIME="${STAMP:0:4}-${STAMP:4:2}-${STAMP:6:2}T${STAMP:8:2}:${STAMP:10:2}:${STAMP:12:2}Z"
LDFLAGS="-s -w -X github.com/minio/mc/cmd.Version=$RELEASE_TIME"
LDFLAGS+=" -X github.com/minio/mc/cmd.ReleaseTag=DEVELOPMENT.${RELEASE_TIME//:/-}"
LDFLAGS+=" -X github.com/minio/mc/cmd.CommitID=$COMMIT -X github.com/minio/mc/cmd.CopyrightYear=${STAMP:0:4}"

echo "[tools] $TOOL $VERSION: go install (a few minutes cold)"
go_install_tool "$TOOL" "$VERSION" "github.com/minio/mc@$VERSION" "$LDFLAGS"
# sed reads to the end, so mc never dies of SIGPIPE under pipefail (head would exit early).
"$CACHE_BIN/$TOOL-$VERSION" --version | sed -n 1p
tool_built "$TOOL" "$VERSION" "$START"
