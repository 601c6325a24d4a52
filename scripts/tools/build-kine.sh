#!/usr/bin/env bash
# Builds kine $KINE_VERSION (etcd API over SQL) into the tool cache; the test apiserver's storage.
#
# CGO_ENABLED=0 on purpose: kine's sqlite driver has two builds (pkg/drivers/sqlite/sqlite_cgo.go
# with mattn/go-sqlite3, sqlite_nocgo.go with the pure-Go modernc.org/sqlite). The pure-Go one needs
# no C toolchain, gives a static binary and is plenty fast for a single-node test apiserver.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=kine
VERSION="${KINE_VERSION:?KINE_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

# kine's go.mod has no replace directives, so `go install module@version` builds it as released.
echo "[tools] $TOOL $VERSION: go install (pure-Go sqlite)"
go_install_tool "$TOOL" "$VERSION" "github.com/k3s-io/kine@$VERSION" "-s -w -X github.com/k3s-io/kine/pkg/version.Version=$VERSION"
"$CACHE_BIN/$TOOL-$VERSION" --version
tool_built "$TOOL" "$VERSION" "$START"
