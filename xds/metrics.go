package xds

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors, all prefixed serin_xds_.
type metrics struct {
	connected   *prometheus.GaugeVec
	responses   *prometheus.CounterVec
	nacks       *prometheus.CounterVec
	pushLatency *prometheus.HistogramVec
	loadReports prometheus.Counter
	// refused counts streams and requests refused by a bound (limits.go).
	refused *prometheus.CounterVec
	// lrsDropped counts load reports of one cluster not added to the
	// load store (lrs.go).
	lrsDropped *prometheus.CounterVec
	// budgetInFlight and budgetWaits watch the response budget (budget.go).
	budgetInFlight prometheus.Gauge
	budgetWaits    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "serin_xds_connected_nodes",
			Help: "ADS streams currently open, by protocol (sotw, delta).",
		}, []string{"protocol"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_xds_responses_total",
			Help: "Discovery responses sent, by resource type and protocol.",
		}, []string{"type", "protocol"}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_xds_nacks_total",
			Help: "Responses rejected by a node (NACK), by resource type.",
		}, []string{"type"}),
		pushLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "serin_xds_push_duration_seconds",
			Help: "Time from a snapshot's publication to a response carrying it being sent, by resource type.",
			// 1 ms to ~4 s: pushes should be well under the 100 ms p99
			// target; the top buckets catch make-before-break gating.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 13),
		}, []string{"type"}),
		loadReports: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "serin_xds_load_reports_total",
			Help: "LRS load reports received.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_xds_refused_total",
			Help: "ADS and LRS streams ended by a bound, by reason (node_id_too_large, node_metadata_too_large, too_many_names, too_many_streams).",
		}, []string{"reason"}),
		lrsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_xds_lrs_dropped_total",
			Help: "Per-cluster LRS load reports dropped, by reason: not_served (the cluster was not sent to that node id and fleet), too_many_clusters, too_many_localities.",
		}, []string{"reason"}),
		budgetInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "serin_xds_response_bytes_in_flight",
			Help: "Bytes of large responses sent and not yet answered (bounded by --xds-max-response-bytes-in-flight).",
		}),
		budgetWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "serin_xds_response_budget_waits_total",
			Help: "Large responses that waited for the response budget (a connect storm).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.connected, m.responses, m.nacks, m.pushLatency, m.loadReports, m.refused, m.lrsDropped, m.budgetInFlight, m.budgetWaits} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	return m, nil
}
