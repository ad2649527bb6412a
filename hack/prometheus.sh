#!/usr/bin/env bash
# Prints the path of a Prometheus server binary, installing Debian's
# `prometheus` package first when none is on PATH (the canary e2e test
# runs a real Prometheus). Set PROMETHEUS_BIN to use another binary.
set -euo pipefail
if [ -n "${PROMETHEUS_BIN:-}" ] && [ -x "$PROMETHEUS_BIN" ]; then
	echo "$PROMETHEUS_BIN"
	exit 0
fi
if bin=$(command -v prometheus 2>/dev/null); then
	echo "$bin"
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
{
	$SUDO apt-get update -qq
	# The package's service is not wanted: the tests start their own server.
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
} >&2
command -v prometheus
