package e2e

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// metric reads one sample of serin's /metrics (0 when absent).
func (s *serin) metric(t testing.TB, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

func dial(t testing.TB, s *serin) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(s.xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func spoofStats(cluster string, ok, failed uint64) *endpointv3.ClusterStats {
	return &endpointv3.ClusterStats{
		ClusterName:        cluster,
		LoadReportInterval: durationpb.New(time.Second),
		UpstreamLocalityStats: []*endpointv3.UpstreamLocalityStats{{
			TotalSuccessfulRequests: ok, TotalErrorRequests: failed, TotalIssuedRequests: ok + failed,
		}},
	}
}

// TestLRSSpoofDoesNotMoveTheCanary replays the attack: a raw LRS client
// with no credentials, never served any cluster, reports healthy load for
// the canary's and the stable cluster (which walked the canary 1 -> 5 ->
// 20% in 4 s), then one report with 5% errors (which rolled a healthy
// release back in 25 ms). The canary does not move and serin counts the
// dropped reports; a real grpc-go client's reports still count and still
// advance it.
func TestLRSSpoofDoesNotMoveTheCanary(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := rolloutDir(t, v1, v2, canaryYAML(walkSteps, `    interval: 1s
    minRequests: 20
    maxStepDuration: 1m
    maxErrorRate: 1
`))
	s := startSerin(t, dir)
	before := s.waitPhase(t, 20*time.Second, v1alpha1.PhaseProgressing)
	if before.Phase != v1alpha1.PhaseProgressing || before.Weight != 1 {
		t.Fatalf("canary starts %s at %d%%, want Progressing at 1%%", before.Phase, before.Weight)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lrs, err := lrsv3.NewLoadReportingServiceClient(dial(t, s)).StreamLoadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := lrs.Send(&lrsv3.LoadStatsRequest{Node: &corev3.Node{Id: "attacker", Cluster: "default"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lrs.Recv(); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for range 20 { // 4 s of healthy traffic, 5x faster than a real client reports
		if err := lrs.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{
			spoofStats("myapp-v2_default", 1000, 0), spoofStats("myapp-v1_default", 100000, 0),
		}}); err != nil {
			t.Fatal(err)
		}
		sent += 2
		time.Sleep(200 * time.Millisecond)
	}
	if err := lrs.Send(&lrsv3.LoadStatsRequest{ClusterStats: []*endpointv3.ClusterStats{spoofStats("myapp-v2_default", 950, 50)}}); err != nil {
		t.Fatal(err)
	}
	sent++
	const dropped = `serin_xds_lrs_dropped_total{reason="not_served"}`
	waitFor(t, 5*time.Second, "the spoofed reports to be counted as dropped", func() bool { return s.metric(t, dropped) >= float64(sent) })
	time.Sleep(1500 * time.Millisecond) // more than an analysis interval
	after := s.canary(t)
	if after.Phase != v1alpha1.PhaseProgressing || after.Step != before.Step || after.Weight != 1 {
		t.Fatalf("spoofed reports moved the canary: %s step %d at %d%%; decisions:\n%s", after.Phase, after.Step, after.Weight, decisionsText(after.Decisions))
	}
	for _, d := range after.Decisions {
		if (d.Verdict == "Advanced" && d.Step > 0) || d.CanaryRequests > 0 || d.StableRequests > 0 {
			t.Fatalf("a decision counted spoofed requests: %+v", d)
		}
	}
	if n := s.loadSum(t); n != 0 {
		t.Fatalf("/api/v1/loadreports counts %d spoofed calls", n)
	}
	t.Logf("%d spoofed cluster reports dropped; canary still %s at %d%%", sent, after.Phase, after.Weight)

	// A real grpc-go xDS client was served the clusters: its reports
	// count and advance the canary.
	startLiveClient(t, s, "default", "xds:///myapp", 400)
	waitFor(t, 60*time.Second, "the real client's reports to advance the canary", func() bool {
		v := s.canary(t)
		return v.Step > 0 || v.Phase != v1alpha1.PhaseProgressing
	})
	if v := s.canary(t); v.Phase == v1alpha1.PhaseRolledBack {
		t.Fatalf("a healthy release rolled back: %s", decisionsText(v.Decisions))
	}
	if n := s.loadSum(t); n == 0 {
		t.Fatal("the real client's reports were not counted")
	}
}

// TestHugeNodeIDIsRefused: 200 streams with a 1 MB node id grew serin to
// 1.46 GB. Such a stream now ends at its first request with
// InvalidArgument, ADS and LRS alike, and is counted; serin lists no node.
func TestHugeNodeIDIsRefused(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	s := startSerin(t, rolloutDir(t, v1, v2, canaryYAML(walkSteps, "    interval: 1s\n")))
	conn := dial(t, s)
	huge := &corev3.Node{Id: strings.Repeat("x", 1<<20), Cluster: "default"}

	ads, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := ads.Send(&discoveryv3.DiscoveryRequest{Node: huge, TypeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster"}); err != nil {
		t.Fatal(err)
	}
	_, err = ads.Recv()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "--xds-max-node-id-bytes") {
		t.Fatalf("ADS with a 1 MB node id: %v, want InvalidArgument naming --xds-max-node-id-bytes", err)
	}
	lrs, err := lrsv3.NewLoadReportingServiceClient(conn).StreamLoadStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := lrs.Send(&lrsv3.LoadStatsRequest{Node: huge}); err != nil {
		t.Fatal(err)
	}
	if _, err := lrs.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("LRS with a 1 MB node id: %v, want InvalidArgument", err)
	}
	if n := s.metric(t, `serin_xds_refused_total{reason="node_id_too_large"}`); n != 2 {
		t.Errorf("refusals counted: %v, want 2", n)
	}
	var nodes []map[string]any
	s.getJSON(t, "/api/v1/nodes", &nodes)
	if len(nodes) != 0 {
		t.Errorf("refused node listed: %d nodes", len(nodes))
	}
}
