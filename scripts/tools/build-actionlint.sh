#!/usr/bin/env bash
# Builds actionlint $ACTIONLINT_VERSION (the GitHub Actions workflow checker) into the tool cache,
# for the test that checks .github/workflows/. A plain `go install` of the released module: its
# go.mod has no replace directives, and `actionlint -version` reads the version from the build info.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=actionlint
VERSION="${ACTIONLINT_VERSION:?ACTIONLINT_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

echo "[tools] $TOOL $VERSION: go install"
go_install_tool "$TOOL" "$VERSION" "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" "-s -w"
"$CACHE_BIN/$TOOL-$VERSION" -version
tool_built "$TOOL" "$VERSION" "$START"
