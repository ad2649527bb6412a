package controlplane

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	translation prometheus.Histogram
	objects     *prometheus.GaugeVec
	states      *prometheus.GaugeVec
	serving     *prometheus.GaugeVec
}

// NewMetrics registers the pipeline metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		translation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "serin_translation_duration_seconds",
			Help: "Time to translate the store into Envoy resources.",
			// 100 µs to ~6.5 s: a few objects to tens of thousands.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 17),
		}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "serin_store_objects",
			Help: "Objects in the store by kind.",
		}, []string{"kind"}),
		states: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "serin_objects",
			Help: "Objects by kind and translation state (Accepted, Warning, Rejected), after the last translation.",
		}, []string{"kind", "state"}),
		serving: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "serin_objects_serving_last_accepted",
			Help: "Rejected objects whose last accepted version is served in their place, by kind (counted in serin_objects as Rejected too).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.translation, m.objects, m.states, m.serving)
	return m
}

func (m *Metrics) observeTranslation(d time.Duration, txn *store.ReadTxn) {
	m.translation.Observe(d.Seconds())
	for _, k := range store.Kinds {
		m.objects.WithLabelValues(k).Set(float64(txn.Count(k)))
	}
}

// reportStates are the states serin_objects counts; every one is set after
// each translation, zeros included, so that a state that empties reads 0.
var reportStates = []v1alpha1.State{v1alpha1.StateAccepted, v1alpha1.StateWarning, v1alpha1.StateRejected}

// observeReports sets serin_objects and serin_objects_serving_last_accepted
// from a translation's reports.
func (m *Metrics) observeReports(reports []translator.Report) {
	type count struct {
		states  [3]int
		serving int
	}
	counts := make(map[string]*count, len(store.Kinds))
	for _, k := range store.Kinds {
		counts[k] = &count{}
	}
	for _, rep := range reports {
		c := counts[rep.Kind]
		if c == nil {
			c = &count{}
			counts[rep.Kind] = c
		}
		if i := slices.Index(reportStates, rep.State); i >= 0 {
			c.states[i]++
		}
		if rep.State == v1alpha1.StateRejected && rep.Serving != nil {
			c.serving++
		}
	}
	for kind, c := range counts {
		for i, st := range reportStates {
			m.states.WithLabelValues(kind, string(st)).Set(float64(c.states[i]))
		}
		m.serving.WithLabelValues(kind).Set(float64(c.serving))
	}
}
