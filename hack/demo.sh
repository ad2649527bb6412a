#!/usr/bin/env bash
# The local canary demo, no Docker and no Envoy needed: serin serves
# examples/canary, two gRPC backends play myapp v1 (:9001) and v2 (:9002),
# and a proxyless gRPC client prints the live split every second.
#
# Edit examples/canary/upstreamgroup.yaml while it runs (say 50/50) and the
# split follows within a second. Ctrl-C stops everything.
#
#   V2_ERROR_RATE=0.05 hack/demo.sh   # play a bad release
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
CONFIG_DIR=${CONFIG_DIR:-examples/canary}
XDS=${XDS:-127.0.0.1:18000}
ADMIN=${ADMIN:-127.0.0.1:19000}
V2_ERROR_RATE=${V2_ERROR_RATE:-0}

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/serin-demo" backend --addr 127.0.0.1:9001 --version v1 --metrics-addr 127.0.0.1:9101 2>/dev/null &
pids+=($!)
"$BIN/serin-demo" backend --addr 127.0.0.1:9002 --version v2 --metrics-addr 127.0.0.1:9102 --error-rate "$V2_ERROR_RATE" 2>/dev/null &
pids+=($!)
"$BIN/serin" serve --config-dir "$CONFIG_DIR" --xds-addr "$XDS" --admin-addr "$ADMIN" 2>serin-demo.log &
pids+=($!)

for _ in $(seq 1 100); do
	curl -fsS "http://$ADMIN/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "serin is serving $CONFIG_DIR (xDS $XDS, admin http://$ADMIN, log serin-demo.log)"
echo "edit $CONFIG_DIR/upstreamgroup.yaml to move the split; Ctrl-C to stop"
echo
"$BIN/serin-demo" client --xds-server "$XDS" --target xds:///myapp --rate 200 --interval 1s
