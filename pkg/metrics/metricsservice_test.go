package metrics

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promgo "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the metrics-service fixtures in testdata/")

// The fixtures are four flushes of one Envoy (node envoy-1, cluster
// default) in Envoy's metrics_service format, once with
// emit_tags_as_labels false and once true: flush 1 on the first stream,
// flush 2 on it too, flush 3 after a reconnect (counters continue),
// flush 4 after an Envoy restart (counters start again from zero).
// myapp-v2_default is the mirror/canary cluster, myapp-v1_default the
// stable, serin_xds the xDS cluster (ignored).
type flush struct {
	ts       int64
	counters map[string]map[string]uint64 // cluster -> stat -> cumulative value
	// hist is the interval upstream_rq_time histogram per cluster:
	// cumulative-by-bucket counts for Envoy's default bounds up to 100 ms.
	hist map[string][]uint64
}

// Envoy's default histogram bucket bounds (ms) and summary quantiles.
var (
	envoyBounds    = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}
	envoyQuantiles = []float64{0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1}
)

func codes(total, c5 uint64) map[string]uint64 {
	return map[string]uint64{"upstream_rq_total": total, "upstream_rq_2xx": total - c5, "upstream_rq_5xx": c5,
		"upstream_rq_200": total - c5, "upstream_rq_503": c5, "upstream_cx_total": 4}
}

// Per flush, the v2 interval histogram: 100 samples, 50 <= 10ms, 90 <= 25ms,
// 98 <= 50ms, 100 <= 100ms (flush 4: 10 samples <= 10ms).
var v2hist = []uint64{0, 0, 0, 50, 90, 98, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
var v2hist4 = []uint64{0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10}
var v1hist = []uint64{0, 0, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600}

var fixtureFlushes = []flush{
	{1760000000000, map[string]map[string]uint64{"myapp-v1_default": codes(1000, 10), "myapp-v2_default": codes(100, 5), "serin_xds": {"upstream_rq_total": 3}}, map[string][]uint64{"myapp-v2_default": v2hist}},
	{1760000005000, map[string]map[string]uint64{"myapp-v1_default": codes(1600, 16), "myapp-v2_default": codes(200, 10), "serin_xds": {"upstream_rq_total": 3}}, map[string][]uint64{"myapp-v2_default": v2hist, "myapp-v1_default": v1hist}},
	{1760000010000, map[string]map[string]uint64{"myapp-v1_default": codes(2200, 22), "myapp-v2_default": codes(300, 15)}, map[string][]uint64{"myapp-v2_default": v2hist, "myapp-v1_default": v1hist}},
	{1760000020000, map[string]map[string]uint64{"myapp-v1_default": codes(50, 1), "myapp-v2_default": codes(10, 0)}, map[string][]uint64{"myapp-v2_default": v2hist4}},
}

// envoyFlush renders a flush the way Envoy's MetricsFlusher does: one
// MetricFamily per stat with one Metric stamped with the snapshot time,
// gauges, and per histogram a SUMMARY and a HISTOGRAM family
// (emit_histograms_as: SUMMARY_AND_HISTOGRAM, the default).
func envoyFlush(f flush, labels bool) []*promgo.MetricFamily {
	var out []*promgo.MetricFamily
	family := func(cluster, stat string, typ promgo.MetricType) (*promgo.MetricFamily, *promgo.Metric) {
		m := &promgo.Metric{TimestampMs: proto.Int64(f.ts)}
		name := "cluster." + cluster + "." + stat
		if labels {
			m.Label = []*promgo.LabelPair{{Name: proto.String("envoy_cluster_name"), Value: proto.String(cluster)}}
			name = "cluster." + stat
			switch {
			case len(stat) == 15 && stat[len(stat)-2:] == "xx": // upstream_rq_5xx -> upstream_rq_xx{class=5}
				name = "cluster.upstream_rq_xx"
				m.Label = append(m.Label, &promgo.LabelPair{Name: proto.String("envoy_response_code_class"), Value: proto.String(stat[12:13])})
			case len(stat) == 15 && stat[:12] == "upstream_rq_": // upstream_rq_503 -> upstream_rq{code=503}
				name = "cluster.upstream_rq"
				m.Label = append(m.Label, &promgo.LabelPair{Name: proto.String("envoy_response_code"), Value: proto.String(stat[12:])})
			}
		}
		fam := &promgo.MetricFamily{Name: proto.String(name), Type: typ.Enum(), Metric: []*promgo.Metric{m}}
		out = append(out, fam)
		return fam, m
	}
	for _, cluster := range []string{"myapp-v1_default", "myapp-v2_default", "serin_xds"} {
		for _, stat := range []string{"upstream_cx_total", "upstream_rq_200", "upstream_rq_2xx", "upstream_rq_503", "upstream_rq_5xx", "upstream_rq_total"} {
			v, ok := f.counters[cluster][stat]
			if !ok {
				continue
			}
			_, m := family(cluster, stat, promgo.MetricType_COUNTER)
			m.Counter = &promgo.Counter{Value: proto.Float64(float64(v))}
		}
	}
	// Then the gauges, as Envoy flushes counters, gauges, histograms.
	for _, cluster := range []string{"myapp-v1_default", "myapp-v2_default", "serin_xds"} {
		if _, ok := f.counters[cluster]; ok {
			_, m := family(cluster, "membership_healthy", promgo.MetricType_GAUGE)
			m.Gauge = &promgo.Gauge{Value: proto.Float64(1)}
		}
	}
	// server.* stats are not cluster stats.
	out = append(out, &promgo.MetricFamily{Name: proto.String("server.uptime"), Type: promgo.MetricType_GAUGE.Enum(),
		Metric: []*promgo.Metric{{TimestampMs: proto.Int64(f.ts), Gauge: &promgo.Gauge{Value: proto.Float64(42)}}}})
	for _, cluster := range []string{"myapp-v1_default", "myapp-v2_default"} {
		cum, ok := f.hist[cluster]
		if !ok {
			continue
		}
		total := cum[len(cum)-1]
		_, sm := family(cluster, "upstream_rq_time", promgo.MetricType_SUMMARY)
		sm.Summary = &promgo.Summary{SampleCount: proto.Uint64(total), SampleSum: proto.Float64(float64(total) * 12)}
		for _, q := range envoyQuantiles {
			sm.Summary.Quantile = append(sm.Summary.Quantile, &promgo.Quantile{Quantile: proto.Float64(q), Value: proto.Float64(10 * q)})
		}
		_, hm := family(cluster, "upstream_rq_time", promgo.MetricType_HISTOGRAM)
		hm.Histogram = &promgo.Histogram{SampleCount: proto.Uint64(total), SampleSum: proto.Float64(float64(total) * 12)}
		for i, b := range envoyBounds {
			hm.Histogram.Bucket = append(hm.Histogram.Bucket, &promgo.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(cum[i])})
		}
	}
	return out
}

func fixturePath(labels bool) string {
	if labels {
		return filepath.Join("testdata", "envoy-metrics-tags-as-labels.jsonl")
	}
	return filepath.Join("testdata", "envoy-metrics-full-names.jsonl")
}

// writeFixture writes one StreamMetricsMessage per line (protojson), with
// the identifier on each stream's first message, as Envoy sends it.
func writeFixture(t *testing.T, labels bool) {
	var buf bytes.Buffer
	node := &corev3.Node{Id: "envoy-1", Cluster: "default", UserAgentName: "envoy"}
	for i, f := range fixtureFlushes {
		msg := &metricsv3.StreamMetricsMessage{EnvoyMetrics: envoyFlush(f, labels)}
		if i != 1 { // flushes 0, 2 and 3 open a stream
			msg.Identifier = &metricsv3.StreamMetricsMessage_Identifier{Node: node}
		}
		b, err := protojson.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath(labels), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFixture(t *testing.T, labels bool) []*metricsv3.StreamMetricsMessage {
	if *update {
		writeFixture(t, labels)
	}
	f, err := os.Open(fixturePath(labels))
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/metrics -run MetricsService -update)", err)
	}
	defer f.Close()
	var out []*metricsv3.StreamMetricsMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := &metricsv3.StreamMetricsMessage{}
		if err := protojson.Unmarshal(sc.Bytes(), m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestMetricsServiceFixture replays the recorded flushes over real gRPC
// streams and checks the window since flush 1 for the stable and the
// mirror/canary cluster.
func TestMetricsServiceFixture(t *testing.T) {
	for _, labels := range []bool{false, true} {
		t.Run(fmt.Sprintf("emit_tags_as_labels=%v", labels), func(t *testing.T) {
			msgs := readFixture(t, labels)
			if len(msgs) != 4 {
				t.Fatalf("fixture has %d flushes, want 4", len(msgs))
			}
			ms := NewMetricsService(nil)
			stream := streamTo(t, ms)
			send := func(batch ...*metricsv3.StreamMetricsMessage) {
				if err := stream(batch...); err != nil {
					t.Fatal(err)
				}
			}
			v1 := Target{Namespace: "default", Upstream: "myapp-v1", Cluster: "myapp-v1_default"}
			v2 := Target{Namespace: "default", Upstream: "myapp-v2", Cluster: "myapp-v2_default"}

			send(msgs[0]) // serin sees the node's counters for the first time: no credit
			m1, m2 := ms.Mark(v1, time.Now()), ms.Mark(v2, time.Now())
			// The stream was closed and reopened without an identifier on
			// flush 2 in a real Envoy; here flush 2 goes on its own stream,
			// so give it flush 1's identifier to keep the node's series.
			second := proto.Clone(msgs[1]).(*metricsv3.StreamMetricsMessage)
			second.Identifier = msgs[0].Identifier
			send(second)
			send(msgs[2]) // reconnect: counters continue
			send(msgs[3]) // restart: counters reset

			w1, _ := ms.Window(t.Context(), v1, m1)
			w2, _ := ms.Window(t.Context(), v2, m2)
			// v1: +600/6, +600/6, then 50/1 after the reset.
			if w1.Requests != 1250 || w1.Errors != 13 {
				t.Errorf("stable window = %d requests %d errors, want 1250 and 13", w1.Requests, w1.Errors)
			}
			// v2: +100/5, +100/5, then 10/0.
			if w2.Requests != 210 || w2.Errors != 10 {
				t.Errorf("canary window = %d requests %d errors, want 210 and 10", w2.Requests, w2.Errors)
			}
			// v2 latency over flushes 2-4: 210 samples, 206 <= 50ms, 210 <= 100ms;
			// rank 0.99*210 = 207.9 -> 50 + 50*(1.9/4) = 73.75 ms.
			p99, ok := w2.Quantile(0.99)
			if !ok || (p99-73750*time.Microsecond).Abs() > time.Microsecond {
				t.Errorf("canary p99 = %v (%v), want 73.75ms", p99, ok)
			}
			// v1's histograms: 600 + 600 samples all in (1ms, 5ms].
			if n := w1.Latency.Count(); n != 1200 {
				t.Errorf("stable latency samples = %d, want 1200", n)
			}
			if _, ok := ms.Totals("serin_xds"); ok {
				t.Error("serin_xds had no new requests after flush 1 and must not appear")
			}
		})
	}
}

// streamTo serves ms over real gRPC and returns a function that sends a
// batch of messages on one stream and closes it.
func streamTo(t *testing.T, ms *MetricsService) func(batch ...*metricsv3.StreamMetricsMessage) error {
	t.Helper()
	client := serveMetrics(t, ms)
	return func(batch ...*metricsv3.StreamMetricsMessage) error {
		st, err := client.StreamMetrics(t.Context())
		if err != nil {
			return err
		}
		for _, m := range batch {
			if err := st.Send(m); err != nil {
				break // the server ended the stream: CloseAndRecv says why
			}
		}
		_, err = st.CloseAndRecv()
		return err
	}
}

// serveMetrics serves ms over real gRPC and returns a client of it.
func serveMetrics(t *testing.T, ms *MetricsService) metricsv3.MetricsServiceClient {
	t.Helper()
	gs := grpc.NewServer()
	ms.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return metricsv3.NewMetricsServiceClient(cc)
}

// trustOnly admits the nodes it names and counts only the given clusters.
type trustOnly struct {
	nodes    map[string]bool
	clusters map[string]bool
}

func (tr trustOnly) Admit(_ context.Context, n *corev3.Node) error {
	if !tr.nodes[n.GetId()] {
		return status.Error(grpccodes.PermissionDenied, "not this node")
	}
	return nil
}

func (tr trustOnly) Served(*corev3.Node) func(string) bool {
	return func(c string) bool { return tr.clusters[c] }
}

// TestMetricsServiceTrust: stats count only for the clusters the trust
// says were served to the node, and a stream the trust refuses ends with
// its error and counts nothing.
func TestMetricsServiceTrust(t *testing.T) {
	msgs := readFixture(t, true)
	v1 := Target{Namespace: "default", Upstream: "myapp-v1", Cluster: "myapp-v1_default"}
	v2 := Target{Namespace: "default", Upstream: "myapp-v2", Cluster: "myapp-v2_default"}
	second := proto.Clone(msgs[1]).(*metricsv3.StreamMetricsMessage)
	second.Identifier = msgs[0].Identifier

	ms := NewMetricsService(nil, WithTrust(trustOnly{nodes: map[string]bool{"envoy-1": true}, clusters: map[string]bool{"myapp-v1_default": true}}))
	send := streamTo(t, ms)
	if err := send(msgs[0]); err != nil {
		t.Fatal(err)
	}
	m1, m2 := ms.Mark(v1, time.Now()), ms.Mark(v2, time.Now())
	if err := send(second); err != nil {
		t.Fatal(err)
	}
	w1, _ := ms.Window(t.Context(), v1, m1)
	w2, _ := ms.Window(t.Context(), v2, m2)
	if w1.Requests != 600 || w1.Errors != 6 {
		t.Errorf("served cluster: %d requests %d errors, want 600 and 6", w1.Requests, w1.Errors)
	}
	if w2.Requests != 0 {
		t.Errorf("a cluster not served to the node counted %d requests", w2.Requests)
	}

	refused := NewMetricsService(nil, WithTrust(trustOnly{}))
	send = streamTo(t, refused)
	for _, m := range []*metricsv3.StreamMetricsMessage{msgs[0], second} {
		if err := send(m); status.Code(err) != grpccodes.PermissionDenied {
			t.Fatalf("refused node: stream ended with %v, want PermissionDenied", err)
		}
	}
	if tot, ok := refused.Totals("myapp-v1_default"); ok && tot.Requests > 0 {
		t.Fatalf("a refused stream counted: %+v", tot)
	}
}

// TestMetricsServiceOneStreamPerNode: while a node's stats stream is open,
// a second one under its name is refused (it would add to the real
// series); once the first ends, the node may reconnect.
func TestMetricsServiceOneStreamPerNode(t *testing.T) {
	msgs := readFixture(t, true)
	ms := NewMetricsService(nil)
	send := streamTo(t, ms)
	first, err := serveMetrics(t, ms).StreamMetrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Send(msgs[0]); err != nil {
		t.Fatal(err)
	}
	// The first stream holds the node once the server read its message.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := send(msgs[0])
		if status.Code(err) == grpccodes.AlreadyExists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second stream of the node: %v, want AlreadyExists", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := first.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if err := send(msgs[0]); err != nil {
		t.Fatalf("the node's reconnect after its stream ended: %v", err)
	}
}

// TestMetricsServiceDropsImpossibleCounters: NaN, negative and huge
// counter values are no Envoy's, and count nothing.
func TestMetricsServiceDropsImpossibleCounters(t *testing.T) {
	ms := NewMetricsService(nil, WithCountersAsDeltas())
	for _, v := range []float64{math.NaN(), -5, 1e300, math.Inf(1)} {
		fam := &promgo.MetricFamily{Name: proto.String("cluster.myapp-v2_default.upstream_rq_total"), Type: promgo.MetricType_COUNTER.Enum(),
			Metric: []*promgo.Metric{{Counter: &promgo.Counter{Value: proto.Float64(v)}}}}
		ms.Ingest("n", []*promgo.MetricFamily{fam}, time.Now())
	}
	if tot, ok := ms.Totals("myapp-v2_default"); ok && tot.Requests != 0 {
		t.Fatalf("impossible counters counted %d requests", tot.Requests)
	}
}
