package metrics

import (
	"net"
	"testing"
	"time"

	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Envoy never closes its metrics stream: Stop must end it, so that the
// server's GracefulStop does not wait out the whole grace period.
func TestMetricsServiceStopEndsStreams(t *testing.T) {
	ms := NewMetricsService(nil)
	gs := grpc.NewServer()
	ms.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	defer gs.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	st, err := metricsv3.NewMetricsServiceClient(cc).StreamMetrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	msgs := readFixture(t, false)
	if err := st.Send(msgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(msgs[1]); err != nil {
		t.Fatal(err)
	}
	// The stream is open and ingesting.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if tot, ok := ms.Totals("myapp-v1_default"); ok && tot.Requests > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream's flushes were never ingested")
		}
		time.Sleep(5 * time.Millisecond)
	}

	ms.Stop()
	ms.Stop() // idempotent
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		gs.Stop()
		t.Fatal("GracefulStop waited on an open metrics stream after Stop")
	}
	if _, err := st.CloseAndRecv(); status.Code(err) != grpccodes.Unavailable {
		t.Fatalf("client saw %v, want Unavailable (reconnect elsewhere)", err)
	}
}

// A stream opened after Stop ends at once.
func TestMetricsServiceStreamAfterStop(t *testing.T) {
	ms := NewMetricsService(nil)
	ms.Stop()
	st, err := serveMetrics(t, ms).StreamMetrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	// Without CloseSend, like Envoy: only the server can end it.
	go func() { done <- st.RecvMsg(new(metricsv3.StreamMetricsResponse)) }()
	select {
	case err := <-done:
		if status.Code(err) != grpccodes.Unavailable {
			t.Fatalf("stream ended with %v, want Unavailable", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a stream opened after Stop stayed open")
	}
}
