package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/source/file"
)

// What serve shows on its admin API and terminal.

func fileErrors(errs []file.FileError) []controlplane.ResourceStatus {
	out := make([]controlplane.ResourceStatus, 0, len(errs))
	for _, e := range errs {
		out = append(out, controlplane.ResourceStatus{Kind: "File", Name: e.File, State: "Rejected", Reason: e.Error(), Origin: e.File})
	}
	return out
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--admin-token-file %s is empty", path)
	}
	return t, nil
}

func printEndpoints(a *app, o serveOptions, xdsAddr, adminAddr string) {
	fmt.Fprintf(a.stderr, `
serin is serving %s
  xDS (ADS, delta, LRS)  %s
  admin API              http://%s   (/readyz /metrics /api/v1/resources /api/v1/nodes /api/v1/snapshot)

Point Envoy at it with deploy/envoy/bootstrap.yaml (set the serin cluster's address to %s),
or a proxyless gRPC client:
  go run ./cmd/serin-demo client --xds-server %s --target xds:///myapp

`, o.configDir, xdsAddr, adminAddr, xdsAddr, xdsAddr)
}
