#!/usr/bin/env bash
# Builds the velero CLI and server $VELERO_VERSION into the tool cache, for the Velero journey
# (test/journeys/velero.test.ts runs `velero server` out of cluster against the test apiserver).
# Velero's go.mod replaces github.com/kopia/kopia with Velero's fork, so `go install` refuses it:
# it is built through a wrapper module repeating that replace (go_build_with_replaces).
# k8s.io/cli-runtime v0.33.12, which Velero requires, is refused by the module proxy here ("403 This
# module version is not available"); v0.33.13, the next patch of the same line, is used instead,
# which lifts k8s.io/api, apimachinery and client-go to v0.33.13 with it (minimal version selection).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=velero
VERSION="${VELERO_VERSION:?VELERO_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

MODULE=github.com/vmware-tanzu/velero
# Stamped as upstream's hack/build.sh does (`velero version` prints the release); ImageRegistry is
# the Makefile's default registry, which `velero install` puts in front of image names. No GitSHA:
# the module proxy does not say which commit a version is.
LDFLAGS="-s -w -X $MODULE/pkg/buildinfo.Version=$VERSION -X $MODULE/pkg/buildinfo.ImageRegistry=velero"
LDFLAGS+=" -X $MODULE/pkg/buildinfo.GitTreeState=clean"
# The server's controller-runtime manager serves its metrics on :8080, a default Velero does not
# let you change; fine in a pod, but the journey test runs `velero server` on a machine where
# other processes may hold :8080. "0" switches that listener off; Velero's own metrics stay on
# --metrics-address.
LDFLAGS+=" -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0"

echo "[tools] $TOOL $VERSION: go build (several minutes cold)"
go_build_with_replaces "$TOOL" "$VERSION" "$MODULE" "$MODULE/cmd/velero" "$LDFLAGS" \
  "k8s.io/cli-runtime => k8s.io/cli-runtime v0.33.13"
"$CACHE_BIN/$TOOL-$VERSION" version --client-only | sed -n 2,3p
tool_built "$TOOL" "$VERSION" "$START"
