package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAttacksKeepMemoryBounded runs the attacks that used to grow serin by
// gigabytes against one serin, as an anonymous peer of its xDS port:
//
//   - 200 streams with a 1 MB node id (were 1.46 GB RSS);
//   - load reports naming 800,000 made-up clusters (kept 650 MB);
//   - 200 streams that NACK with a 1 MB message and stay (were +520 MB).
//
// serin's own process metrics must stay within 96 MiB of heap and 192 MiB
// of resident memory of where they started (the peak is the decoding of
// one 16 MiB report: --xds-max-lrs-clusters cuts it after it is read), and the admin API's node list
// must stay small and fast. The numbers are logged for docs/performance.md.
func TestAttacksKeepMemoryBounded(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	s := startSerin(t, canaryDir(t, v1, v2))
	conn := dial(t, s)
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	rss0, heap0 := s.metric(t, "process_resident_memory_bytes"), s.metric(t, "go_memstats_heap_inuse_bytes")
	peakRSS, peakHeap := rss0, heap0
	sample := func(what string) {
		rss, heap := s.metric(t, "process_resident_memory_bytes"), s.metric(t, "go_memstats_heap_inuse_bytes")
		peakRSS, peakHeap = max(peakRSS, rss), max(peakHeap, heap)
		t.Logf("%-40s RSS %4.0f MiB (%+4.0f)  heap in use %4.0f MiB (%+4.0f)", what, rss/(1<<20), (rss-rss0)/(1<<20), heap/(1<<20), (heap-heap0)/(1<<20))
	}
	sample("start")

	// 1. 200 streams with a 1 MB node id.
	huge := strings.Repeat("x", 1<<20)
	for i := range 200 {
		st, err := ads.StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		node := &corev3.Node{Id: fmt.Sprint(i) + huge, Cluster: "default"}
		if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: cdsType}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("stream %d with a 1 MB node id: %v, want InvalidArgument", i, err)
		}
	}
	sample("200 streams with a 1 MB node id")

	// 2. 800,000 made-up clusters in 8 load reports of 100,000.
	lrs, err := lrsv3.NewLoadReportingServiceClient(conn).StreamLoadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := lrs.Send(&lrsv3.LoadStatsRequest{Node: &corev3.Node{Id: "spoofer", Cluster: "default"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lrs.Recv(); err != nil {
		t.Fatal(err)
	}
	for r := range 8 {
		stats := make([]*endpointv3.ClusterStats, 100_000)
		for i := range stats {
			stats[i] = spoofStats(fmt.Sprintf("made-up-%d-%d", r, i), 100, 100)
		}
		if err := lrs.Send(&lrsv3.LoadStatsRequest{ClusterStats: stats}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the made-up clusters dropped", func() bool {
		return s.metric(t, `serin_xds_lrs_dropped_total{reason="not_served"}`)+
			s.metric(t, `serin_xds_lrs_dropped_total{reason="too_many_clusters"}`) >= 800_000
	})
	sample("800,000 made-up clusters reported")

	// 3. 200 streams that NACK with a 1 MB message, and stay connected
	// (50 per connection: serin allows 100 streams on one).
	for i := range 200 {
		if i%50 == 0 {
			ads = discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, s))
		}
		st, err := ads.StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		node := &corev3.Node{Id: fmt.Sprintf("nacker-%d", i), Cluster: "default"}
		if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: cdsType}); err != nil {
			t.Fatal(err)
		}
		resp, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: cdsType, ResponseNonce: resp.GetNonce(),
			ErrorDetail: &rpcstatus.Status{Code: int32(codes.InvalidArgument), Message: huge}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "200 NACKs recorded", func() bool {
		return s.metricSum(t, "serin_xds_nacks_total") >= 200
	})
	sample("200 streams NACKing with 1 MB")

	start := time.Now()
	resp, err := http.Get("http://" + s.admin + "/api/v1/nodes?limit=5000")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	t.Logf("GET /api/v1/nodes with 200 NACKing nodes: %d KiB in %v", len(body)>>10, took.Round(time.Millisecond))
	if len(body) > 2<<20 || took > 2*time.Second {
		t.Errorf("the node list is %d bytes and took %v; NACK text must be cut to --xds-max-nack-message-bytes", len(body), took)
	}
	if strings.Contains(string(body), strings.Repeat("x", 2048)) {
		t.Error("a NACK message is listed longer than 2 KiB")
	}
	sample("after listing the nodes")

	t.Logf("peak growth: RSS %+.0f MiB, heap in use %+.0f MiB", (peakRSS-rss0)/(1<<20), (peakHeap-heap0)/(1<<20))
	if peakHeap-heap0 > 96<<20 {
		t.Errorf("heap in use grew by %.0f MiB under the attacks, want under 96", (peakHeap-heap0)/(1<<20))
	}
	if peakRSS-rss0 > 192<<20 {
		t.Errorf("resident memory grew by %.0f MiB under the attacks, want under 192", (peakRSS-rss0)/(1<<20))
	}
}

// metricSum adds every sample of a metric, whatever its labels.
func (s *serin) metricSum(t testing.TB, name string) float64 {
	t.Helper()
	sum := 0.0
	for _, l := range strings.Split(getText(t, "http://"+s.admin+"/metrics"), "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

const cdsType = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
