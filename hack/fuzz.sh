#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a bounded time each.
#   hack/fuzz.sh 20s
set -euo pipefail
time=${1:-20s}
cd "$(dirname "$0")/.."
status=0
while read -r pkg; do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: $pkg $fn for $time"
		if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$time" "$pkg"; then
			status=1
		fi
	done
done < <(go list ./...)
exit $status
