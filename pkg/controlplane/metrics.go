package controlplane

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/serin-dev/serin/pkg/store"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	translation prometheus.Histogram
	objects     *prometheus.GaugeVec
	states      *prometheus.GaugeVec
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
			Name: "serin_objects_by_state",
			Help: "Objects by kind and translation state (Accepted, Warning, Rejected).",
		}, []string{"kind", "state"}),
	}
	reg.MustRegister(m.translation, m.objects, m.states)
	return m
}

func (m *Metrics) observeTranslation(d time.Duration, txn *store.ReadTxn) {
	m.translation.Observe(d.Seconds())
	for _, k := range store.Kinds {
		m.objects.WithLabelValues(k).Set(float64(txn.Count(k)))
	}
}
