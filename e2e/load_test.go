package e2e

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/serin-dev/serin/pkg/loadtest"
)

// TestLoad is the CI-sized load run (the big ones are serin-load commands
// in docs/performance.md): 200 Envoy-like clients over two gRPC
// connections against the real binary; every client must converge on
// every weight change, a NACKing client must get one response per change
// (not a loop), serin's goroutines must return to their count before the
// clients came, and this process must not leak the clients' goroutines;
// once more over mTLS with a fleet rule.
// Latencies are logged, not asserted: this machine is shared.
func TestLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tc := range []struct {
		name    string
		clients int
		delta   bool
		tls     bool
	}{
		{"sotw", 200, false, false},
		{"delta", 100, true, false},
		{"sotw-mtls", 200, false, true}, // client certificates and a fleet rule, as in production
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := loadtest.RunSerin(ctx, loadtest.Config{
				VirtualServices: 50,
				Clients:         tc.clients,
				Delta:           tc.delta,
				NackFraction:    0.1,
				Changes:         3,
				ChangesPerSec:   4,
				Settle:          20 * time.Second,
				Idle:            200 * time.Millisecond,
				SerinBin:        serinBin,
				Dir:             t.TempDir(),
				TLS:             tc.tls,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d clients: connect storm %.0f ms; change->ACK min %.1f median %.1f p99 %.1f max %.1f ms; %.0f bytes and %.2f responses per client and change; serin heap %.1f KB per idle client",
				res.Clients, res.ConnectMs, res.Latency.Min, res.Latency.Median, res.Latency.P99, res.Latency.Max,
				res.BytesPerClientChange, res.ResponsesPerClientChange, float64(res.HeapPerClient)/1024)
			acking := res.Clients - res.NackingClients
			if res.Missing != 0 || res.Latency.N != acking*res.Changes {
				t.Errorf("%d (client, change) pairs converged, %d missing; want %d", res.Latency.N, res.Missing, acking*res.Changes)
			}
			if res.NackingClients == 0 || res.NackResponsesPerChange > 1 {
				t.Errorf("%d NACKing clients got %.2f route responses per change; want at most 1", res.NackingClients, res.NackResponsesPerChange)
			}
			if res.GoroutinesAfter > res.GoroutinesBefore {
				t.Errorf("serin has %d goroutines after the clients left, %d before they came", res.GoroutinesAfter, res.GoroutinesBefore)
			}
		})
	}
}
