#!/usr/bin/env bash
# Builds the kube-apiserver and etcd that the Kubernetes e2e tests run under
# controller-runtime's envtest, from the Go module proxy (no downloads of
# prebuilt binaries), and caches them. Prints the directory that holds them,
# suitable for KUBEBUILDER_ASSETS.
#
#   hack/envtest-binaries.sh            # build once, then reuse the cache
#   SERIN_ENVTEST_DIR=/x hack/envtest-binaries.sh
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-1.36.3}
STAGING_VERSION=${STAGING_VERSION:-0.${KUBE_VERSION#1.}}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
DIR=${SERIN_ENVTEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/serin/envtest/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION}

if [[ -x "$DIR/kube-apiserver" && -x "$DIR/etcd" ]]; then
	echo "$DIR"
	exit 0
fi
mkdir -p "$DIR"
log() { echo "envtest-binaries: $*" >&2; }

if [[ ! -x "$DIR/kube-apiserver" ]]; then
	log "building kube-apiserver v$KUBE_VERSION (staging v$STAGING_VERSION); takes several minutes on 2 cores"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	(
		cd "$work"
		go mod init serin.dev/envtest-apiserver >/dev/null 2>&1
		gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
		# k8s.io/kubernetes replaces every staging module with a local path;
		# point each at its published v0.x version instead.
		for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"); do
			go mod edit -replace "$m=$m@v$STAGING_VERSION"
		done
		cat > main.go <<'GO'
package main

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"

func main() {}
GO
		go get "k8s.io/kubernetes@v$KUBE_VERSION" >/dev/null 2>&1
		go mod tidy >/dev/null 2>&1
		go build -o "$DIR/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
		mv "$DIR/kube-apiserver.tmp" "$DIR/kube-apiserver"
	)
fi

if [[ ! -x "$DIR/etcd" ]]; then
	log "building etcd v$ETCD_VERSION"
	work=$(mktemp -d)
	(
		cd "$work"
		go mod init serin.dev/envtest-etcd >/dev/null 2>&1
		cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
		go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1
		go mod tidy >/dev/null 2>&1
		go build -o "$DIR/etcd.tmp" .
		mv "$DIR/etcd.tmp" "$DIR/etcd"
	)
	rm -rf "$work"
fi
echo "$DIR"
