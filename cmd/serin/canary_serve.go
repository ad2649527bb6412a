package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/serin-dev/serin/pkg/admin"
	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/xds"
)

// canaryServeOptions are serve's canary-engine flags.
type canaryServeOptions struct {
	stateDir      string
	promURL       string
	promQueries   metrics.PromQueries
	countersDelta bool
	promMinRange  time.Duration
	// hooksLinkLocal lets canary webhooks reach link-local and cloud
	// metadata addresses (refused by default).
	hooksLinkLocal bool
}

func addCanaryFlags(f *pflag.FlagSet, o *canaryServeOptions) {
	f.StringVar(&o.stateDir, "state-dir", "", "directory where canary rollouts and their release history survive restarts (file mode); empty keeps them in memory")
	f.StringVar(&o.promURL, "prometheus-url", "", "Prometheus server for Canaries with provider prometheus and for analysis.metrics (e.g. http://127.0.0.1:9090)")
	f.StringVar(&o.promQueries.Requests, "prometheus-requests-query", "", "PromQL template for a cluster's requests over {{interval}} (default: Envoy's envoy_cluster_upstream_rq_total)")
	f.StringVar(&o.promQueries.Errors, "prometheus-errors-query", "", "PromQL template for a cluster's errors over {{interval}} (default: Envoy's 5xx)")
	f.StringVar(&o.promQueries.LatencyP99, "prometheus-latency-query", "", "PromQL template for a cluster's p99 in seconds over {{interval}} (default: Envoy's upstream_rq_time)")
	f.DurationVar(&o.promMinRange, "prometheus-min-interval", 10*time.Second, "shortest {{interval}} queried: at least two scrape intervals, or increase() answers nothing")
	f.BoolVar(&o.hooksLinkLocal, "canary-webhook-allow-link-local", false, "let Canary webhooks call link-local addresses and cloud metadata services (169.254.0.0/16, fe80::/10, 169.254.169.254, fd00:ec2::254, metadata.google.internal); loopback and private addresses are always allowed")
	f.BoolVar(&o.countersDelta, "metrics-service-counters-as-deltas", false, "Envoy's metrics_service sink sets report_counters_as_deltas")
}

// canaryEngine is the canary engine and its providers, wired into serve.
type canaryEngine struct {
	*canary.Engine
	detach func()
	// metricsService streams never end on their own: stop it before the
	// gRPC server's GracefulStop, like the xDS server.
	metricsService *metrics.MetricsService
	// lrs is the LRS provider; serve also feeds it the load that peer
	// replicas receive (pkg/peers).
	lrs *metrics.LRS
}

// newCanaryEngine builds the engine on st with the LRS provider fed by
// xsrv, the metrics service registered on gs and the admin routes on adm,
// and restores saved rollouts into the store. Call it after the sources
// have loaded and before the translator's first run. status, releases and
// isLeader are for Kubernetes mode; nil means file mode (FileStore at
// --state-dir, always leader).
func newCanaryEngine(ctx context.Context, log *slog.Logger, o canaryServeOptions, st *store.Store, xsrv *xds.Server, gs *grpc.Server, adm *admin.Handler,
	status canary.StatusStore, releases canary.ReleaseLog, isLeader func() bool) (*canaryEngine, error) {
	lrs := metrics.NewLRS(nil)
	detach := lrs.Attach(xsrv.Loads())
	// Envoy stats count only as far as their sender is trusted: admitted
	// like its ADS and LRS streams, for clusters served to it.
	msOpts := []metrics.MetricsServiceOption{metrics.WithTrust(xsrv.StatsTrust())}
	if o.countersDelta {
		msOpts = append(msOpts, metrics.WithCountersAsDeltas())
	}
	ms := metrics.NewMetricsService(nil, msOpts...)
	ms.Register(gs)
	cfg := canary.Config{
		Store:     st,
		Providers: map[string]metrics.Provider{lrs.Name(): lrs, ms.Name(): ms},
		Status:    status,
		Releases:  releases,
		IsLeader:  isLeader,
		Log:       log,
		// A Canary's author picks the webhook URL; whoever may write a
		// Canary must not get the node's cloud credentials through it.
		HTTPClient: canary.WebhookClient(o.hooksLinkLocal),
	}
	if o.promURL != "" {
		p, err := metrics.NewPrometheus(o.promURL, metrics.WithQueries(o.promQueries), metrics.WithMinInterval(o.promMinRange))
		if err != nil {
			detach()
			return nil, err
		}
		cfg.Providers[p.Name()], cfg.Queries = p, p
	}
	switch {
	case o.stateDir != "" && (cfg.Status == nil || cfg.Releases == nil):
		fs, err := canary.NewFileStore(o.stateDir)
		if err != nil {
			detach()
			return nil, fmt.Errorf("--state-dir: %w", err)
		}
		if cfg.Releases == nil {
			cfg.Releases = fs
		}
		if cfg.Status == nil {
			cfg.Status = fs
		}
	case status == nil:
		log.Warn("canary rollouts are kept in memory: a restart starts every release over; set --state-dir")
	}
	e, err := canary.New(cfg)
	if err != nil {
		detach()
		return nil, err
	}
	if err := e.Restore(ctx); err != nil {
		detach()
		return nil, err
	}
	e.Register(adm)
	return &canaryEngine{Engine: e, detach: detach, metricsService: ms, lrs: lrs}, nil
}
