package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/serin-dev/serin/pkg/admin"
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

// adminToken applies admin.ResolveToken and says what it decided.
func adminToken(log *slog.Logger, o serveOptions) (string, error) {
	token, generated, err := admin.ResolveToken(o.adminAddr, o.adminTokenFile, o.canary.stateDir)
	switch {
	case err != nil:
		return "", err
	case generated != "":
		log.Info("the admin API requires a bearer token; it is in a file readable by this user only",
			"admin", o.adminAddr, "token_file", generated, "cli", "serin canary --token-file "+generated)
	case token == "":
		log.Info("the admin API is open to this host only (loopback, no token)", "admin", o.adminAddr)
	}
	return token, nil
}

// peerClient sends the shared admin token to the peers' admin APIs (every
// replica reads the same Secret), so the leader may read their load reports.
func peerClient(token string) *http.Client {
	if token == "" {
		return nil
	}
	return &http.Client{Transport: bearerTransport{token: token, next: http.DefaultTransport}}
}

type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
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
