#!/usr/bin/env bash
# Builds helm $HELM_VERSION (v3 line) into the tool cache, for installing the chart in e2e tests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL=helm
VERSION="${HELM_VERSION:?HELM_VERSION missing in scripts/tools/versions.env}"
tool_cached "$TOOL" "$VERSION" && exit 0
START=$(date +%s)

export GOTOOLCHAIN=local GOFLAGS=
# Same stamping as helm's Makefile: the release version, and the Kubernetes version helm reports
# to charts (.Capabilities.KubeVersion) derived from the client-go it is built with.
echo "[tools] $TOOL $VERSION: reading helm's client-go version"
HELM_GOMOD="$(go mod download -json "helm.sh/helm/v3@$VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
CLIENT_GO="$(awk '$1 == "k8s.io/client-go" { print $2 }' "$HELM_GOMOD")"  # e.g. v0.37.0
K8S_MINOR="$(echo "$CLIENT_GO" | cut -d. -f2)"
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$VERSION"
LDFLAGS+=" -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LDFLAGS+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
done

echo "[tools] $TOOL $VERSION: go install"
go_install_tool "$TOOL" "$VERSION" "helm.sh/helm/v3/cmd/helm@$VERSION" "$LDFLAGS"
"$CACHE_BIN/$TOOL-$VERSION" version
tool_built "$TOOL" "$VERSION" "$START"
