#!/usr/bin/env bash
# Fails when the generated files (deepcopy, CRDs, clients, rendered
# manifests) are out of date with the API types and the chart: it runs
# hack/generate.sh on a temporary copy of the tree and diffs the results.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GENERATED=(pkg/api/v1alpha1/zz_generated.deepcopy.go deploy/crds deploy/helm/serin/crds pkg/client deploy/kubernetes)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The working tree without build output or VCS data.
tar -C "$ROOT" --exclude=./.git --exclude=./bin -cf - . | tar -C "$tmp" -xf -
ROOT="$tmp" "$tmp/hack/generate.sh"

status=0
for p in "${GENERATED[@]}"; do
	if [[ ! -e "$ROOT/$p" && ! -e "$tmp/$p" ]]; then
		continue
	fi
	if ! diff -ruN "$ROOT/$p" "$tmp/$p"; then
		status=1
	fi
done
if [[ $status -ne 0 ]]; then
	echo "verify-generate: generated files are stale; run hack/generate.sh (make generate) and commit the result" >&2
	exit 1
fi
echo "verify-generate: up to date" >&2
