package metrics

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/service/metrics/v3"
	promgo "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MetricsService receives Envoy's envoy.stat_sinks.metrics_service stream
// (envoy.service.metrics.v3.MetricsService/StreamMetrics) and keeps, per
// cluster, the requests (upstream_rq_1xx..5xx, or upstream_rq_total when
// no class counters arrive), errors (upstream_rq_5xx) and the
// upstream_rq_time histogram. A mirror (shadow) cluster's stats arrive
// like any other cluster's, so the mirror phase is judged from them.
//
// What Envoy sends (source/extensions/stat_sinks/metrics_service): one
// MetricFamily per stat; counters carry the cumulative value (or the delta
// with report_counters_as_deltas); histograms carry interval statistics —
// the samples since the previous flush — as cumulative-by-bucket counts
// with bounds in milliseconds; with emit_tags_as_labels the family name is
// the tag-extracted name (cluster.upstream_rq_xx) and the cluster is the
// envoy_cluster_name label, otherwise the full name
// (cluster.<name>.upstream_rq_5xx).
type MetricsService struct {
	metricsv3.UnimplementedMetricsServiceServer

	l *ledger
	// countersAsDeltas matches Envoy's report_counters_as_deltas.
	countersAsDeltas bool

	// trust admits streams and says which clusters a node's stats may
	// count for; nil trusts everyone (tests, a port nobody else reaches).
	trust Trust

	mu      sync.Mutex
	last    map[string]map[string]uint64 // node -> stat -> last cumulative value
	streams map[string]int               // node -> open streams
	gone    map[string]time.Time         // node -> when its last stream ended
	swept   time.Time                    // when gone was last swept

	done     chan struct{} // closed by Stop: open streams end
	stopOnce sync.Once
}

// MetricsServiceOption configures a MetricsService.
type MetricsServiceOption func(*MetricsService)

// WithCountersAsDeltas says Envoy's sink sets report_counters_as_deltas.
func WithCountersAsDeltas() MetricsServiceOption {
	return func(m *MetricsService) { m.countersAsDeltas = true }
}

// Trust decides how far a stream's stats are believed. Stats move
// canaries, so a stream counts only as far as its sender is trusted: the
// xDS server (xds.Server.StatsTrust) admits a node as it admits its ADS
// and LRS streams (node bounds, fleet identity under mTLS), and counts a
// cluster's stats only when that cluster was served to that node.
type Trust interface {
	// Admit is called with the stream's first node; an error ends the
	// stream with it.
	Admit(ctx context.Context, node *corev3.Node) error
	// Served returns the filter for one flush of node: whether stats of a
	// cluster count. It is called once per flush.
	Served(node *corev3.Node) func(cluster string) bool
}

// WithTrust makes the service admit streams and count clusters through t.
func WithTrust(t Trust) MetricsServiceOption {
	return func(m *MetricsService) { m.trust = t }
}

// NewMetricsService returns an empty provider; now may be nil.
func NewMetricsService(now func() time.Time, opts ...MetricsServiceOption) *MetricsService {
	m := &MetricsService{l: newLedger(now), last: map[string]map[string]uint64{}, streams: map[string]int{}, gone: map[string]time.Time{}, done: make(chan struct{})}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Register adds the MetricsService to gs (serin's xDS port).
func (m *MetricsService) Register(gs *grpc.Server) { metricsv3.RegisterMetricsServiceServer(gs, m) }

// Name implements Provider.
func (m *MetricsService) Name() string { return "metricsService" }

// Mark implements Provider.
func (m *MetricsService) Mark(t Target, start time.Time) Mark { return m.l.mark(t, start) }

// Window implements Provider.
func (m *MetricsService) Window(_ context.Context, t Target, mk Mark) (Window, error) {
	return m.l.window(t, mk), nil
}

// Notify implements Notifier: fn runs for every flush that carried
// requests for a cluster.
func (m *MetricsService) Notify(fn func(string, time.Time)) (cancel func()) { return m.l.Notify(fn) }

// Totals returns one cluster's totals since serin started.
func (m *MetricsService) Totals(cluster string) (Totals, bool) { return m.l.Totals(cluster) }

// Stop ends every open StreamMetrics stream (and any opened later) with
// Unavailable, so that the Envoys reconnect elsewhere. Envoy never closes
// its stream itself: call Stop before the gRPC server's GracefulStop, or
// GracefulStop waits out its whole grace period. Stop is idempotent.
func (m *MetricsService) Stop() { m.stopOnce.Do(func() { close(m.done) }) }

// StreamMetrics implements the service: Envoy sends a message per flush
// and never expects an answer until it closes the stream. Messages are
// received and ingested on a helper goroutine, which ends with the stream.
func (m *MetricsService) StreamMetrics(ss grpc.ClientStreamingServer[metricsv3.StreamMetricsMessage, metricsv3.StreamMetricsResponse]) error {
	select {
	case <-m.done:
		return errStopping
	default:
	}
	errc := make(chan error, 1)
	go func() {
		var node *corev3.Node
		key := "" // set once the stream holds the node's series
		// end gives the node's series back before the handler returns, so
		// the node's next stream (a reconnect) finds it free.
		end := func(err error) {
			if key != "" {
				m.closed(key)
			}
			errc <- err
		}
		for {
			msg, err := ss.Recv()
			if err != nil {
				end(err)
				return
			}
			// The identifier comes only on a stream's first message.
			if node == nil {
				node = msg.GetIdentifier().GetNode()
				if node == nil {
					node = &corev3.Node{}
				}
				if m.trust != nil {
					if err := m.trust.Admit(ss.Context(), node); err != nil {
						end(err)
						return
					}
				}
				k := node.GetId() + "\x00" + node.GetCluster()
				if !m.opened(k) {
					end(status.Error(grpccodes.AlreadyExists, "a metrics stream of this node is already open"))
					return
				}
				key = k
			}
			var served func(string) bool
			if m.trust != nil {
				served = m.trust.Served(node)
			}
			m.ingest(key, msg.GetEnvoyMetrics(), served, time.Now())
		}
	}()
	select {
	case <-m.done:
		// Returning ends the stream; the pending Recv then fails and the
		// helper goroutine ends.
		return errStopping
	case err := <-errc:
		if errors.Is(err, io.EOF) {
			return ss.SendAndClose(&metricsv3.StreamMetricsResponse{})
		}
		return err
	}
}

// opened and closed count a node's streams. A node's last counter values
// outlive its last stream by seriesRetention, so that an Envoy that
// reconnects (it does whenever the stream breaks) continues its series;
// after that they are forgotten (a later reconnect counts nothing from
// its first flush, the safe side: see delta). What the service keeps is
// thus bounded by the nodes connected in the last few minutes.
//
// A node has one stats stream: a second one while the first is open is
// refused, so that nobody can add to a real Envoy's series under its name.
func (m *MetricsService) opened(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.streams[node] > 0 {
		return false
	}
	m.streams[node]++
	delete(m.gone, node)
	if now := time.Now(); now.Sub(m.swept) > seriesRetention/10 {
		m.swept = now
		for n, at := range m.gone {
			if now.Sub(at) > seriesRetention {
				delete(m.gone, n)
				delete(m.last, n)
			}
		}
	}
	return true
}

func (m *MetricsService) closed(node string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.streams[node]--; m.streams[node] <= 0 {
		delete(m.streams, node)
		m.gone[node] = time.Now()
	}
}

// maxCounter is the largest counter value taken (2^53: beyond it a float
// no longer counts one by one). Larger, negative or NaN values are not a
// real Envoy's and are dropped, so no sum can wrap.
const maxCounter = 1 << 53

// seriesRetention is how long a node's counters are kept after its last
// stream ends: Envoy reconnects within seconds.
const seriesRetention = 5 * time.Minute

var errStopping = status.Error(grpccodes.Unavailable, "metrics service stopping")

// clusterStats is one flush's numbers for one cluster.
type clusterStats struct {
	classes  uint64 // sum of upstream_rq_Nxx increments
	hasClass bool
	total    uint64 // upstream_rq_total increment
	errors   uint64 // upstream_rq_5xx increment
	latency  Histogram
}

// Ingest adds one flush from node (the stream's node id; counters are
// tracked per node so that a reconnecting Envoy continues its series).
func (m *MetricsService) Ingest(node string, families []*promgo.MetricFamily, at time.Time) {
	m.ingest(node, families, nil, at)
}

// ingest is Ingest counting only the clusters served allows (nil: all).
func (m *MetricsService) ingest(node string, families []*promgo.MetricFamily, served func(string) bool, at time.Time) {
	per := map[string]*clusterStats{}
	get := func(c string) *clusterStats {
		s := per[c]
		if s == nil {
			s = &clusterStats{}
			per[c] = s
		}
		return s
	}
	m.mu.Lock()
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			cluster, stat, class, ok := parseClusterStat(f.GetName(), metric.GetLabel())
			if !ok || (served != nil && !served(cluster)) {
				continue
			}
			switch {
			case stat == "upstream_rq_time" && f.GetType() == promgo.MetricType_HISTOGRAM:
				get(cluster).latency.add(envoyHistogram(metric.GetHistogram()))
			case f.GetType() != promgo.MetricType_COUNTER:
			case stat == "upstream_rq_total":
				get(cluster).total += m.delta(node, f.GetName(), metric, cluster+"|total")
			case stat == "upstream_rq_xx" && class >= '1' && class <= '5':
				d := m.delta(node, f.GetName(), metric, cluster+"|"+string(class)+"xx")
				s := get(cluster)
				s.classes += d
				s.hasClass = true
				if class == '5' {
					s.errors += d
				}
			}
		}
	}
	m.mu.Unlock()
	for cluster, s := range per {
		req := s.total
		if s.hasClass {
			req = s.classes
		}
		if req == 0 && s.latency.Count() == 0 {
			continue
		}
		m.l.add(cluster, req, s.errors, s.latency, at)
	}
}

// delta turns a counter sample into an increment. Cumulative counters are
// compared with the node's previous value; a smaller value is a reset (the
// Envoy restarted) and counts from zero. Called with m.mu held.
func (m *MetricsService) delta(node, family string, metric *promgo.Metric, stat string) uint64 {
	f := metric.GetCounter().GetValue()
	if !(f >= 0 && f <= maxCounter) { // NaN, negative, or past what a float counts exactly
		return 0
	}
	v := uint64(f)
	if m.countersAsDeltas {
		return v
	}
	last := m.last[node]
	if last == nil {
		last = map[string]uint64{}
		m.last[node] = last
	}
	prev, seen := last[stat]
	last[stat] = v
	switch {
	case !seen:
		// The first value of a node counts whole only if the node started
		// after serin: otherwise it holds traffic from before any step.
		// Envoy's first flush comes one flush interval after start, so a
		// fresh Envoy's first value is small either way; counting nothing
		// is the safe choice (never credit old traffic to a step).
		return 0
	case v < prev:
		return v
	default:
		return v - prev
	}
}

// parseClusterStat recognizes a cluster stat in both of Envoy's naming
// modes and returns the cluster, the stat (with upstream_rq_5xx folded to
// upstream_rq_xx and its class returned) and whether it is one.
func parseClusterStat(name string, labels []*promgo.LabelPair) (cluster, stat string, class byte, ok bool) {
	if !strings.HasPrefix(name, "cluster.") {
		return "", "", 0, false
	}
	if rest := name[len("cluster."):]; !strings.Contains(rest, ".") {
		// emit_tags_as_labels: cluster.upstream_rq_xx{envoy_cluster_name, envoy_response_code_class}
		stat = rest
		for _, l := range labels {
			switch l.GetName() {
			case "envoy_cluster_name":
				cluster = l.GetValue()
			case "envoy_response_code_class":
				if v := l.GetValue(); len(v) == 1 {
					class = v[0]
				}
			}
		}
		return cluster, stat, class, cluster != ""
	}
	// Full names: cluster.<cluster>.<stat>; cluster names may hold dots,
	// stats of interest do not.
	i := strings.LastIndexByte(name, '.')
	cluster, stat = name[len("cluster."):i], name[i+1:]
	if len(stat) == len("upstream_rq_5xx") && strings.HasPrefix(stat, "upstream_rq_") && strings.HasSuffix(stat, "xx") {
		class = stat[len("upstream_rq_")]
		stat = "upstream_rq_xx"
	}
	return cluster, stat, class, cluster != ""
}

// envoyHistogram converts an interval histogram (bounds in milliseconds).
func envoyHistogram(h *promgo.Histogram) Histogram {
	bs := h.GetBucket()
	if len(bs) == 0 {
		return Histogram{}
	}
	bounds := make([]float64, len(bs))
	cum := make([]uint64, len(bs))
	for i, b := range bs {
		bounds[i] = b.GetUpperBound()
		cum[i] = b.GetCumulativeCount()
	}
	out := FromCumulative(bounds, cum, h.GetSampleCount(), 0.001)
	out.Bounds = internBounds(out.Bounds)
	return out
}

var (
	boundsMu    sync.Mutex
	boundsCache [][]float64
)

// internBounds shares equal bound slices (Envoy uses one set for every
// histogram, converted to seconds) so that histograms compare and add cheaply.
func internBounds(b []float64) []float64 {
	boundsMu.Lock()
	defer boundsMu.Unlock()
	for _, c := range boundsCache {
		if len(c) == len(b) {
			eq := true
			for i := range c {
				if c[i] != b[i] {
					eq = false
					break
				}
			}
			if eq {
				return c
			}
		}
	}
	if len(boundsCache) < 16 {
		boundsCache = append(boundsCache, b)
	}
	return b
}
