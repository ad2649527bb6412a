package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// TestCanaryEnvoyMetricsService runs a real Envoy whose metrics_service
// sink (deploy/envoy/bootstrap.yaml: emit_tags_as_labels, 1 s flushes)
// streams to serin. v2 answers in 300 ms; the canary judges p99 from
// Envoy's upstream_rq_time histograms and rolls back. (gRPC errors travel
// as HTTP 200 with a grpc-status, so Envoy's upstream_rq_5xx does not see
// them: latency is what a gRPC bad release shows here.)
func TestCanaryEnvoyMetricsService(t *testing.T) {
	if _, ok := envoyBinary(); !ok {
		t.Skip("envoy binary not found on PATH or in ENVOY_BIN; the metrics-service path is covered without it by pkg/metrics' Envoy-format fixture test")
	}
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2", "--latency", "300ms")
	dir := rolloutDir(t, v1, v2, canaryYAML("[{weight: 20}, {weight: 50}, {weight: 100}]", `    provider: metricsService
    interval: 1s
    minRequests: 30
    maxStepDuration: 1m
    maxLatencyP99: 100ms
`))
	listen := addGateway(t, dir)
	s := startSerin(t, dir)
	startEnvoy(t, s)
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", listen),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("myapp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := testpb.NewTestServiceClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, cc := context.WithTimeout(ctx, 2*time.Second)
				stub.UnaryCall(c, &testpb.SimpleRequest{FillServerId: true})
				cc()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	v := s.waitPhase(t, 60*time.Second, v1alpha1.PhaseRolledBack, v1alpha1.PhaseSucceeded, v1alpha1.PhasePaused)
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack on Envoy's p99; decisions:\n%s", v.Phase, decisionsText(v.Decisions))
	}
	d := v.Decisions[len(v.Decisions)-1]
	if d.CanaryP99 == "" || d.CanaryRequests < 30 {
		t.Fatalf("the rollback must carry Envoy's numbers: %+v", d)
	}
	t.Logf("rolled back: %s (canary p99 %s)", d.Reason, d.CanaryP99)
}
