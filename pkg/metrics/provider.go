// Package metrics gives the canary engine the numbers it judges: how many
// requests an upstream's cluster served, how many failed, and how long they
// took, over exactly the window since a rollout step began. Three providers
// sit behind one interface: LRS load reports (the default: every grpc-go
// xDS client and Envoy already send them), Envoy's metrics service, and a
// Prometheus server queried with PromQL.
package metrics

import (
	"context"
	"time"
)

// Target is one side of a comparison: an upstream's cluster in a canary.
type Target struct {
	// Namespace and Upstream name the Upstream measured.
	Namespace string
	Upstream  string
	// Cluster is its Envoy cluster name.
	Cluster string
	// Canary and Stable are the two upstream names of the Canary, for the
	// {{canary}} and {{stable}} PromQL placeholders.
	Canary string
	Stable string
}

// Mark is where a window begins: the step start time and, for providers
// that accumulate counters in memory, the totals at that moment. A Mark
// without totals (a restart lost them) counts from the provider's first
// data after Time: a subset of the step, never a window that mixes steps.
type Mark struct {
	Time time.Time
	base *Totals
}

// HasBaseline reports whether the mark carries the totals of its moment.
func (m Mark) HasBaseline() bool { return m.base != nil }

// Window is what one cluster did between From and To.
type Window struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Requests uint64    `json:"requests"`
	Errors   uint64    `json:"errors"`
	// Latency is the distribution of the window's request times, when the
	// provider has one (the metrics service). LRS carries no latency.
	Latency Histogram `json:"-"`
	// P99 is set by providers that compute quantiles themselves
	// (Prometheus); HasP99 says whether P99 is known.
	P99    time.Duration `json:"p99,omitempty"`
	HasP99 bool          `json:"hasP99"`
}

// ErrorRate is errors per request in percent; 0 without requests.
func (w Window) ErrorRate() float64 {
	if w.Requests == 0 {
		return 0
	}
	return 100 * float64(w.Errors) / float64(w.Requests)
}

// Quantile returns the q-quantile of latency (q in [0,1]) from the
// provider's own figure for p99 or from the histogram.
func (w Window) Quantile(q float64) (time.Duration, bool) {
	if w.HasP99 && q == 0.99 {
		return w.P99, true
	}
	return w.Latency.Quantile(q)
}

// Provider is a source of windows.
type Provider interface {
	// Name is the analysis.provider value that selects it.
	Name() string
	// Mark records where a window of t begins, now, for a step that began
	// at start.
	Mark(t Target, start time.Time) Mark
	// Window returns what t did from the mark until now.
	Window(ctx context.Context, t Target, m Mark) (Window, error)
}

// Notifier is implemented by providers that receive data as it happens
// (LRS, metrics service). fn is called with the cluster and the time the
// data arrived, on the receiving goroutine: it must return quickly.
type Notifier interface {
	Notify(fn func(cluster string, at time.Time)) (cancel func())
}
