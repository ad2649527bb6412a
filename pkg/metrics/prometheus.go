package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PromQueries are the PromQL templates the Prometheus provider runs for
// each side of a comparison. Placeholders: {{upstream}} (the upstream
// measured), {{cluster}} (its Envoy cluster), {{canary}}, {{stable}},
// {{namespace}} and {{interval}} (the time since the step began, e.g. 37s).
type PromQueries struct {
	// Requests and Errors are counts over the window.
	Requests string
	Errors   string
	// LatencyP99 is the window's p99 in seconds; empty means none.
	LatencyP99 string
}

// DefaultPromQueries read Envoy's own stats as Prometheus scrapes them from
// /stats/prometheus (upstream_rq_time is in milliseconds).
var DefaultPromQueries = PromQueries{
	Requests:   `sum(increase(envoy_cluster_upstream_rq_total{envoy_cluster_name="{{cluster}}"}[{{interval}}]))`,
	Errors:     `sum(increase(envoy_cluster_upstream_rq_xx{envoy_cluster_name="{{cluster}}",envoy_response_code_class="5"}[{{interval}}]))`,
	LatencyP99: `histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="{{cluster}}"}[{{interval}}]))) / 1000`,
}

// Prometheus is the PromQL provider: windows and custom metrics from a
// Prometheus server's HTTP API.
type Prometheus struct {
	api     promv1.API
	queries PromQueries
	now     func() time.Time
	// minInterval is the shortest range queried: increase() needs two
	// samples in the range, so anything below twice a typical scrape
	// interval answers nothing.
	minInterval time.Duration
	timeout     time.Duration
}

// PrometheusOption configures the provider.
type PrometheusOption func(*Prometheus)

// WithQueries replaces the default templates (empty fields keep theirs).
func WithQueries(q PromQueries) PrometheusOption {
	return func(p *Prometheus) {
		if q.Requests != "" {
			p.queries.Requests = q.Requests
		}
		if q.Errors != "" {
			p.queries.Errors = q.Errors
		}
		if q.LatencyP99 != "" {
			p.queries.LatencyP99 = q.LatencyP99
		}
	}
}

// WithMinInterval sets the shortest {{interval}}; default 10s.
func WithMinInterval(d time.Duration) PrometheusOption {
	return func(p *Prometheus) { p.minInterval = d }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) PrometheusOption { return func(p *Prometheus) { p.now = now } }

// NewPrometheus connects to the server at url (e.g. http://127.0.0.1:9090).
func NewPrometheus(url string, opts ...PrometheusOption) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", url, err)
	}
	p := &Prometheus{
		api: promv1.NewAPI(c), queries: DefaultPromQueries, now: time.Now,
		// Two default scrape intervals of 5 s: the least that holds two samples.
		minInterval: 10 * time.Second,
		// A query that takes longer than this is not worth waiting for: the
		// next check asks again.
		timeout: 10 * time.Second,
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Name implements Provider.
func (p *Prometheus) Name() string { return "prometheus" }

// Mark implements Provider: Prometheus keeps the history, so a mark is
// just the time.
func (p *Prometheus) Mark(_ Target, start time.Time) Mark { return Mark{Time: start} }

// Window implements Provider.
func (p *Prometheus) Window(ctx context.Context, t Target, m Mark) (Window, error) {
	now := p.now()
	w := Window{From: m.Time, To: now}
	vars := Vars{Target: t, Interval: now.Sub(m.Time)}
	req, err := p.Query(ctx, p.queries.Requests, vars)
	if err != nil && !errors.Is(err, ErrNoData) {
		return w, fmt.Errorf("requests of %s: %w", t.Cluster, err)
	}
	errs, err := p.Query(ctx, p.queries.Errors, vars)
	if err != nil && !errors.Is(err, ErrNoData) {
		return w, fmt.Errorf("errors of %s: %w", t.Cluster, err)
	}
	// increase() extrapolates to the range's edges: round to whole requests.
	w.Requests, w.Errors = uint64(math.Round(max(req, 0))), uint64(math.Round(max(errs, 0)))
	if p.queries.LatencyP99 != "" && w.Requests > 0 {
		p99, err := p.Query(ctx, p.queries.LatencyP99, vars)
		if err == nil && !math.IsNaN(p99) && !math.IsInf(p99, 0) {
			w.P99, w.HasP99 = seconds(p99), true
		}
	}
	return w, nil
}

// Vars fill a query's placeholders.
type Vars struct {
	Target
	Interval time.Duration
}

// Expand substitutes the placeholders of q.
func (p *Prometheus) Expand(q string, v Vars) string {
	iv := max(v.Interval, p.minInterval)
	return strings.NewReplacer(
		"{{upstream}}", v.Upstream,
		"{{cluster}}", v.Cluster,
		"{{canary}}", v.Canary,
		"{{stable}}", v.Stable,
		"{{namespace}}", v.Namespace,
		"{{interval}}", fmt.Sprintf("%ds", int64(math.Ceil(iv.Seconds()))),
	).Replace(q)
}

// ErrNoData is a query that returned no sample.
var ErrNoData = errors.New("query returned no data")

// Query runs an instant PromQL query (after substitution) and returns its
// single value; a vector answers its first sample.
func (p *Prometheus) Query(ctx context.Context, q string, v Vars) (float64, error) {
	expr := p.Expand(q, v)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	val, _, _, err := p.api.Query(ctx, expr, p.now())
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q: %w", expr, err)
	}
	switch r := val.(type) {
	case model.Vector:
		if len(r) == 0 {
			return 0, fmt.Errorf("%q: %w", expr, ErrNoData)
		}
		return float64(r[0].Value), nil
	case *model.Scalar:
		return float64(r.Value), nil
	default:
		return 0, fmt.Errorf("prometheus query %q: want a vector or scalar, got %s", expr, val.Type())
	}
}
