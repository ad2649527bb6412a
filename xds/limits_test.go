package xds

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// streamErr waits for the end of a raw stream and returns its status code.
func streamErr(t *testing.T, recv func() error) codes.Code {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			if err := recv(); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err := <-errc:
		return status.Code(err)
	case <-time.After(5 * time.Second):
		t.Fatal("stream was not ended")
	}
	return codes.OK
}

func openLRS(t *testing.T, e *env, n *corev3.Node) lrsv3.LoadReportingService_StreamLoadStatsClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := lrsv3.NewLoadReportingServiceClient(e.conn).StreamLoadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&lrsv3.LoadStatsRequest{Node: n}); err != nil {
		t.Fatal(err)
	}
	return s
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func (e *env) dropped(reason string) float64 {
	return counterValue(e.srv.metrics.lrsDropped.WithLabelValues(reason))
}

func (e *env) refused(reason string) float64 {
	return counterValue(e.srv.metrics.refused.WithLabelValues(reason))
}

// The attack: a client that never received CDS reports load for the
// canary's cluster. Its reports are dropped and counted; a node that was
// served the cluster still counts, but not for a cluster it made up.
func TestLRSCountsOnlyServedClusters(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))

	spy := openLRS(t, e, node("spy", "default", ""))
	if _, err := spy.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := spy.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{stats("myapp-v2_default", 1000, 50, 0)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "not_served drop", func() bool { return e.dropped("not_served") == 1 })

	real := e.sotw(t, node("real", "default", ""))
	real.request(cds, nil, "")
	real.ack(real.expect(cds), nil)
	rep := openLRS(t, e, node("real", "default", ""))
	if _, err := rep.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := rep.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{
		stats("myapp-v2_default", 10, 0, 0), stats("made-up", 10, 0, 0),
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "served report", func() bool {
		v2, ok := e.srv.Loads().Total("myapp-v2_default")
		return ok && v2.Successful == 10
	})
	waitFor(t, "made-up drop", func() bool { return e.dropped("not_served") == 2 })
	if all := e.srv.Loads().Totals(); len(all) != 1 || all[0].Successful != 10 || all[0].Error != 0 {
		t.Fatalf("totals = %+v, want only the served node's report", all)
	}
}

func TestLRSCapsClustersAndLocalities(t *testing.T) {
	e := startWith(t, []Option{WithLimits(Limits{MaxLRSClusters: 1, MaxLRSLocalities: 1})})
	update(t, e, app(90, 10))
	c := e.sotw(t, node("n", "default", ""))
	c.request(cds, nil, "")
	c.ack(c.expect(cds), nil)
	s := openLRS(t, e, node("n", "default", ""))
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	// stats() splits over two localities: over the cap of one.
	one := &endpointv3.ClusterStats{ClusterName: "myapp-v1_default", UpstreamLocalityStats: []*endpointv3.UpstreamLocalityStats{{TotalSuccessfulRequests: 5}}}
	if err := s.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{one, stats("myapp-v2_default", 10, 0, 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{stats("myapp-v2_default", 10, 0, 0)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drops", func() bool {
		return e.dropped("too_many_clusters") == 1 && e.dropped("too_many_localities") == 1
	})
	if v1, ok := e.srv.Loads().Total("myapp-v1_default"); !ok || v1.Successful != 5 {
		t.Errorf("v1 = %+v, want the capped report's first cluster", v1)
	}
}

func TestNodeOverLimitsIsRefused(t *testing.T) {
	e := start(t)
	update(t, e, app(100))
	huge := strings.Repeat("x", 1<<20) // the attack: a 1 MB node id
	md, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("y", 100<<10)})
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*corev3.Node{
		"id":       {Id: huge, Cluster: "default"},
		"cluster":  {Id: "n", Cluster: huge},
		"metadata": {Id: "n", Cluster: "default", Metadata: md},
	} {
		c := e.sotw(t, n)
		c.request(cds, nil, "")
		select {
		case err := <-c.errc:
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "limit") {
				t.Errorf("%s: ADS ended with %v, want InvalidArgument naming the limit", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ADS stream not refused", name)
		}
		s := openLRS(t, e, n)
		if code := streamErr(t, func() error { _, err := s.Recv(); return err }); code != codes.InvalidArgument {
			t.Errorf("%s: LRS ended with %v, want InvalidArgument", name, code)
		}
	}
	d, err := discoveryv3.NewAggregatedDiscoveryServiceClient(e.conn).DeltaAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: huge}, TypeUrl: cds}); err != nil {
		t.Fatal(err)
	}
	if code := streamErr(t, func() error { _, err := d.Recv(); return err }); code != codes.InvalidArgument {
		t.Errorf("delta: %v, want InvalidArgument", code)
	}
	if got := e.refused("node_id_too_large") + e.refused("node_metadata_too_large"); got != 7 {
		t.Errorf("refused = %v, want 7", got)
	}
	if len(e.srv.Nodes()) != 0 {
		t.Errorf("a refused node is listed: %+v", e.srv.Nodes())
	}
}

func TestTooManyResourceNamesIsRefused(t *testing.T) {
	e := startWith(t, []Option{WithLimits(Limits{MaxResourceNames: 3})})
	update(t, e, app(100))
	c := e.sotw(t, node("n", "default", ""))
	c.request(eds, []string{"a", "b", "c", "d"}, "")
	select {
	case err := <-c.errc:
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("ADS ended with %v, want InvalidArgument", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not refused")
	}
	// Delta subscriptions add up over requests.
	d, err := discoveryv3.NewAggregatedDiscoveryServiceClient(e.conn).DeltaAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{{"a", "b"}, {"c", "d"}} {
		if err := d.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node("d", "default", ""), TypeUrl: eds, ResourceNamesSubscribe: names}); err != nil {
			t.Fatal(err)
		}
	}
	if code := streamErr(t, func() error { _, err := d.Recv(); return err }); code != codes.InvalidArgument {
		t.Errorf("delta: %v, want InvalidArgument", code)
	}
	if got := e.refused("too_many_names"); got != 2 {
		t.Errorf("refused = %v, want 2", got)
	}
}

func TestNackMessageIsTruncated(t *testing.T) {
	e := start(t)
	update(t, e, app(100))
	c := e.sotw(t, node("bad", "default", ""))
	c.request(cds, nil, "")
	c.expect(cds)
	c.request(cds, nil, strings.Repeat("é", 1<<19)) // 1 MB of two-byte runes
	select {
	case n := <-e.nacks:
		if len(n.Message) > DefaultLimits.MaxNackMessageBytes+100 || !strings.Contains(n.Message, "truncated") || !utf8.ValidString(n.Message) {
			t.Errorf("NACK message is %d bytes: %.80q...", len(n.Message), n.Message)
		}
		if m := n.Status().Message; m != n.Message {
			t.Errorf("status message differs from the NACK's")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NACK")
	}
	if ln := e.srv.Nodes()[0].Types[0].LastNack; ln == nil || len(ln.Message) > 2*DefaultLimits.MaxNackMessageBytes {
		t.Errorf("the node listing keeps %v", ln)
	}
}

func TestTotalStreamsAreBounded(t *testing.T) {
	e := startWith(t, []Option{WithLimits(Limits{MaxStreams: 2})})
	update(t, e, app(100))
	a := e.sotw(t, node("a", "default", ""))
	a.request(cds, nil, "")
	a.expect(cds)
	l := openLRS(t, e, node("a", "default", ""))
	if _, err := l.Recv(); err != nil {
		t.Fatal(err)
	}
	b := e.sotw(t, node("b", "default", ""))
	b.request(cds, nil, "")
	select {
	case err := <-b.errc:
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--xds-max-streams") {
			t.Errorf("third stream ended with %v, want ResourceExhausted naming the flag", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("third stream not refused")
	}
	if e.refused("too_many_streams") != 1 {
		t.Errorf("refusal not counted")
	}
	a.end() // a slot frees when a stream ends
	waitFor(t, "a to leave", func() bool { return len(e.srv.Nodes()) == 0 })
	c := e.sotw(t, node("c", "default", ""))
	c.request(cds, nil, "")
	c.expect(cds)
}

// A node that leaves leaves nothing behind: not in the registry, the
// node-id index, nor the load store's in-progress gauges.
func TestDisconnectFreesTheNode(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("n", "default", ""))
	c.request(cds, nil, "")
	c.ack(c.expect(cds), nil)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := lrsv3.NewLoadReportingServiceClient(e.conn).StreamLoadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Send(&lrsv3.LoadStatsRequest{Node: node("n", "default", ""), ClusterStats: []*endpointv3.ClusterStats{stats("myapp-v1_default", 1, 0, 4)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "report", func() bool { v, _ := e.srv.Loads().Total("myapp-v1_default"); return v.InProgress == 4 })
	c.end()
	cancel()
	waitFor(t, "node freed", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.streams) == 0 && len(e.srv.byNode) == 0 && e.srv.open == 0
	})
	waitFor(t, "gauge dropped", func() bool { v, _ := e.srv.Loads().Total("myapp-v1_default"); return v.InProgress == 0 })
}

func TestTruncateText(t *testing.T) {
	if got := truncateText("short", 10); got != "short" {
		t.Errorf("short text changed: %q", got)
	}
	got := truncateText(strings.Repeat("é", 10), 5) // cut inside a rune
	if !strings.HasPrefix(got, "éé...") || !strings.Contains(got, "4 of 20 bytes kept") {
		t.Errorf("got %q", got)
	}
}

// TestMaxConnectionAge: a connection older than the maximum age gets
// GOAWAY and, after the grace, is closed; the client's streams end and it
// is served again on a new connection (so nodes spread over replicas that
// came up after they connected).
func TestMaxConnectionAge(t *testing.T) {
	e := startGRPC(t, []grpc.ServerOption{MaxConnectionAge(300*time.Millisecond, 200*time.Millisecond)}, nil)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("aged", "default", ""))
	c.request(cds, nil, "")
	c.ack(c.expect(cds), nil)
	select {
	case err := <-c.errc:
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("stream ended with %v, want Unavailable (connection closed after its age)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived the connection's maximum age (0.3 s + 0.2 s grace) by seconds")
	}
	again := e.sotw(t, node("aged", "default", ""))
	again.request(cds, nil, "")
	again.expect(cds)

	// Without a maximum age the same stream stays.
	e2 := startGRPC(t, []grpc.ServerOption{MaxConnectionAge(0, 0)}, nil)
	update(t, e2, app(90, 10))
	kept := e2.sotw(t, node("kept", "default", ""))
	kept.request(cds, nil, "")
	kept.expect(cds)
	select {
	case err := <-kept.errc:
		t.Fatalf("a stream without a maximum age ended: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
}
