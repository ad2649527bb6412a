package xds

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestStatsTrust: Envoy stats count only for clusters served to the
// reporting node, and a stats stream is admitted as an ADS stream is.
func TestStatsTrust(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	real := e.sotw(t, node("real", "default", ""))
	real.request(cds, nil, "")
	real.ack(real.expect(cds), nil)

	trust := e.srv.StatsTrust()
	served := trust.Served(node("real", "default", ""))
	if !served("myapp-v2_default") || !served("myapp-v1_default") {
		t.Fatal("clusters served to the node do not count")
	}
	if served("made-up") || served("serin_xds") {
		t.Fatal("a cluster never served to the node counts")
	}
	if trust.Served(node("spy", "default", ""))("myapp-v2_default") {
		t.Fatal("a node that was served nothing counts for a served cluster")
	}
	if err := trust.Admit(context.Background(), node("real", "default", "")); err != nil {
		t.Fatalf("no fleet rules: admitted must be nil, got %v", err)
	}
	huge := node(strings.Repeat("x", 2<<10), "default", "")
	if err := trust.Admit(context.Background(), huge); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a node over the id bound: %v, want InvalidArgument", err)
	}
}

// TestStatsTrustNeedsIdentity: with fleet rules, a stats stream without a
// certificate that may read the fleet is refused and counted.
func TestStatsTrustNeedsIdentity(t *testing.T) {
	e, _, _ := startMTLS(t, "default=spiffe://serin.test/ns/default/*")
	err := e.srv.StatsTrust().Admit(context.Background(), node("envoy-1", "default", ""))
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("no certificate: %v, want PermissionDenied", err)
	}
	if got := counterValue(e.srv.denied.WithLabelValues("metrics", "default")); got != 1 {
		t.Fatalf("serin_xds_denied_streams_total{protocol=metrics} = %v, want 1", got)
	}
}
