#!/usr/bin/env bash
# Regenerates everything derived from the API types in pkg/api/v1alpha1:
#   - deepcopy functions (controller-gen object)
#   - CRDs in deploy/crds/ and deploy/helm/serin/crds/ (controller-gen crd)
#   - the typed clientset, listers and informers in pkg/client/ (code-generator)
#   - the plain manifests in deploy/kubernetes/ rendered from the Helm chart
#
#   hack/generate.sh            # in place
#   ROOT=/tmp/copy hack/generate.sh   # into another checkout (verify-generate.sh)
#
# Tools run from the Go module proxy at pinned versions, so nothing needs to
# be installed beforehand.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CONTROLLER_TOOLS_VERSION=${CONTROLLER_TOOLS_VERSION:-v0.23.0}
CODE_GENERATOR_VERSION=${CODE_GENERATOR_VERSION:-v0.36.3}
MODULE=github.com/serin-dev/serin
API_PKG=$MODULE/pkg/api/v1alpha1
OUT_PKG=$MODULE/pkg/client
HEADER=$ROOT/hack/boilerplate.go.txt

cd "$ROOT"
log() { echo "generate: $*" >&2; }

log "deepcopy and CRDs (controller-gen $CONTROLLER_TOOLS_VERSION)"
# allowDangerousTypes: percentages (mirrors, error rates) are floats in the
# API, as in Gloo.
go run "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" \
	object \
	crd:crdVersions=v1,allowDangerousTypes=true \
	paths=./pkg/api/v1alpha1/... \
	output:crd:dir=./deploy/crds
mkdir -p deploy/helm/serin/crds
rm -f deploy/helm/serin/crds/*.yaml
cp deploy/crds/*.yaml deploy/helm/serin/crds/

cg() { go run "k8s.io/code-generator/cmd/$1@$CODE_GENERATOR_VERSION" --go-header-file "$HEADER" "${@:2}"; }

log "clientset, listers, informers (code-generator $CODE_GENERATOR_VERSION)"
rm -rf pkg/client
cg client-gen \
	--clientset-name versioned \
	--input-base "" \
	--input "$API_PKG" \
	--output-pkg "$OUT_PKG/clientset" \
	--output-dir pkg/client/clientset
cg lister-gen \
	--output-pkg "$OUT_PKG/listers" \
	--output-dir pkg/client/listers \
	"$API_PKG"
cg informer-gen \
	--versioned-clientset-package "$OUT_PKG/clientset/versioned" \
	--listers-package "$OUT_PKG/listers" \
	--output-pkg "$OUT_PKG/informers" \
	--output-dir pkg/client/informers \
	"$API_PKG"

if [[ -f hack/render-chart/main.go ]]; then
	log "plain manifests from the chart"
	# A module of its own, so Helm's dependencies stay out of serin's go.mod.
	(cd hack/render-chart && go run . -chart ../../deploy/helm/serin -out ../../deploy/kubernetes)
fi
gofmt -w pkg/client pkg/api/v1alpha1/zz_generated.deepcopy.go
log "done"
