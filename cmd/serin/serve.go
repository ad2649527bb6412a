package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/serin-dev/serin/pkg/admin"
	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/peers"
	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
	"github.com/serin-dev/serin/xds"
)

func init() { register(newServeCmd) }

type serveOptions struct {
	configDir      string
	xdsAddr        string
	adminAddr      string
	adminTokenFile string
	debugAddr      string
	loadReporting  bool
	drain          time.Duration
	quiet          time.Duration
	maxDelay       time.Duration
	shutdownGrace  time.Duration
	peers          []string
	limits         file.Limits        // bounds on each config file (--max-file-bytes, ...)
	emptySettle    time.Duration      // --empty-file-settle
	xdsLimits      xds.Limits         // bounds on what an xDS peer makes serin keep (--xds-max-*)
	xdsMaxAge      time.Duration      // --xds-max-connection-age
	xdsMaxAgeGrace time.Duration      // --xds-max-connection-age-grace
	xdsMaxConns    int                // --xds-max-connections
	canary         canaryServeOptions // canary engine flags (cmd/serin/canary_serve.go)
	kube           kubeServeOptions   // Kubernetes flags (cmd/serin/serve_kube.go)

	// TLS and mTLS on xDS (cmd/serin/serve_tls.go).
	xdsTLS xdsTLSOptions
}

func newServeCmd(a *app) *cobra.Command {
	o := serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve xDS to Envoy fleets and proxyless gRPC clients",
		Long: `serve loads a directory of serin (or Gloo) YAML, watches it, and serves the
translated configuration over ADS (state-of-the-world and delta) on
--xds-addr, with load reporting (LRS) on the same port. The admin API on
--admin-addr has /healthz, /readyz, /metrics, /api/v1/resources,
/api/v1/nodes, /api/v1/snapshot?fleet=F and /api/v1/loadreports.

On a loopback --admin-addr the admin API is open to this host. On any
other address every endpoint but /healthz and /readyz requires
"Authorization: Bearer <token>": the token in --admin-token-file, or one
generated into --state-dir/admin-token (mode 0600) on the first start;
with neither, serve refuses to start. pprof is served only on
--debug-addr, which must be loopback (docs/security.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configDir, "config-dir", "examples/canary", "directory of YAML/JSON objects to serve and watch")
	f.StringVar(&o.xdsAddr, "xds-addr", "127.0.0.1:18000", "gRPC address for ADS and LRS")
	f.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:19000", "HTTP address of the admin API")
	f.StringVar(&o.adminTokenFile, "admin-token-file", "", "file holding the bearer token the admin API requires (reads and writes); without it a non-loopback --admin-addr needs --state-dir, where a token is generated")
	f.StringVar(&o.debugAddr, "debug-addr", "", "loopback address serving pprof at /debug/pprof/ (empty: off)")
	f.BoolVar(&o.loadReporting, "load-reporting", true, "ask clients for per-cluster load reports (lrs_server on every cluster)")
	f.DurationVar(&o.drain, "drain", snapshot.DefaultDrain, "how long a removed cluster outlives the routes that named it")
	f.DurationVar(&o.quiet, "debounce-quiet", controlplane.DefaultQuiet, "translate once the store has been quiet this long")
	f.DurationVar(&o.maxDelay, "debounce-max", controlplane.DefaultMaxDelay, "translate at least this often while changes keep coming")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 5*time.Second, "how long SIGTERM waits for open requests")
	f.StringSliceVar(&o.peers, "peers", nil, "admin API base URLs of the other replicas (http://10.0.0.5:19000,...): while leading, add their clients' load reports to the LRS provider (in Kubernetes, --peers-service)")
	addLimitFlags(f, &o.limits) // --max-file-bytes, --max-yaml-expansion-bytes
	f.DurationVar(&o.emptySettle, "empty-file-settle", file.DefaultEmptySettle, "a config file that becomes empty keeps its objects until it stays empty this long (an editor that truncates, then writes); a deleted file's objects go at once")
	addXDSLimitFlags(f, &o.xdsLimits)
	addCanaryFlags(f, &o.canary) // canary engine: --state-dir, --prometheus-*
	addKubeFlags(f, &o.kube)     // --kube, --kubeconfig, --namespaces, --leader-elect, --webhook-*

	// TLS and mTLS on xDS.
	addXDSTLSFlags(f, &o.xdsTLS) // --xds-tls-cert, --xds-tls-key, --xds-client-ca, --fleet-identity
	f.DurationVar(&o.xdsMaxAge, "xds-max-connection-age", xds.DefaultMaxConnectionAge, "send GOAWAY to xDS connections this old (±10% jitter) so nodes spread over replicas started since; 0 keeps connections for ever")
	f.IntVar(&o.xdsMaxConns, "xds-max-connections", xds.DefaultMaxConnections, "close xDS connections beyond this many open at once (one per Envoy or proxyless client; 0: no bound)")
	f.DurationVar(&o.xdsMaxAgeGrace, "xds-max-connection-age-grace", xds.DefaultMaxConnectionAgeGrace, "close an aged xDS connection this long after its GOAWAY")
	return cmd
}

// addXDSLimitFlags registers the bounds on what one xDS peer (anyone who
// reaches --xds-addr) makes serin keep. xds.Limits says why each default
// is what it is; docs/security.md "xDS peers and load reports" lists them.
func addXDSLimitFlags(f *pflag.FlagSet, l *xds.Limits) {
	d := xds.DefaultLimits
	f.IntVar(&l.MaxNodeIDBytes, "xds-max-node-id-bytes", d.MaxNodeIDBytes, "refuse ADS/LRS streams whose node id or node cluster is longer (real ids are host or pod names, ~100-250 B)")
	f.IntVar(&l.MaxNodeMetadataBytes, "xds-max-node-metadata-bytes", d.MaxNodeMetadataBytes, "refuse ADS/LRS streams whose node metadata is larger (Envoy/Istio send a few KiB)")
	f.IntVar(&l.MaxResourceNames, "xds-max-resource-names", d.MaxResourceNames, "refuse a request, or a delta subscription, naming more resources of one type (5x the 20,000 EDS names of 10,000 services)")
	f.IntVar(&l.MaxNackMessageBytes, "xds-max-nack-message-bytes", d.MaxNackMessageBytes, "truncate a NACK's error text to this many bytes in memory, logs and object status (Envoy's reasons are one line)")
	f.IntVar(&l.MaxStreams, "xds-max-streams", d.MaxStreams, "refuse ADS and LRS streams beyond this many across the server (2x the 5,000 nodes x ADS+LRS serin-load has run)")
	f.IntVar(&l.MaxLRSClusters, "xds-max-lrs-clusters", d.MaxLRSClusters, "drop the clusters of one load report beyond this many (2x the 20,000 clusters of 10,000 services)")
	f.IntVar(&l.MaxLRSLocalities, "xds-max-lrs-localities", d.MaxLRSLocalities, "drop a cluster's load report naming more localities (real deployments have a few dozen)")
	f.IntVar(&l.MaxLoadClusters, "xds-max-load-clusters", d.MaxLoadClusters, "keep load totals for at most this many clusters, forgetting the least recently reported (2x the 20,000 clusters of 10,000 services)")
	f.IntVar(&l.MaxResponseBytesInFlight, "xds-max-response-bytes-in-flight", d.MaxResponseBytesInFlight, "large responses (64 KiB and up) sent and not yet answered may hold this many bytes across the server; more wait their turn (a connect storm's memory; negative: no bound)")
}

func runServe(ctx context.Context, a *app, o serveOptions) error {
	log := a.log
	token, err := adminToken(log, o)
	if err != nil {
		return err
	}
	if err := admin.CheckDebugAddr(o.debugAddr); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := translator.Options{LoadReporting: o.loadReporting}
	st := store.New()

	// The source: a watched directory, or the Kubernetes API. Nothing
	// downstream knows which.
	var (
		runSource func(context.Context) error
		synced    <-chan struct{}
		k         *kubeServe
		src       *file.Source
	)
	if o.kube.enabled {
		if k, err = newKubeServe(o.kube, st, log); err != nil {
			return err
		}
		runSource, synced = k.src.Run, k.src.Synced()
		if err := k.useCerts(ctx, &o.xdsTLS); err != nil {
			return err
		}
	} else {
		fileOpts := []file.Option{file.WithLogger(log), file.WithLimits(o.limits), file.WithEmptySettle(o.emptySettle)}
		if o.canary.stateDir != "" {
			// Claim times (oldest claim wins) survive restarts.
			fileOpts = append(fileOpts, file.WithClaimsFile(filepath.Join(o.canary.stateDir, "claims.json")))
		}
		if src, err = file.New(o.configDir, st, fileOpts...); err != nil {
			return fmt.Errorf("config dir: %w", err)
		}
		for _, fe := range src.Errors() {
			log.Warn("file not loaded", "err", fe.Error())
		}
		done := make(chan struct{})
		close(done) // file.New loaded the directory
		runSource, synced = src.Run, done
	}

	discoverPeers, err := peerDiscovery(o, k)
	if err != nil {
		return err
	}

	cache := snapshot.NewCache(snapshot.WithDrain(o.drain), snapshot.WithLogger(log))
	defer cache.Close()
	cpCfg := controlplane.Config{
		Store: st, Cache: cache, Options: opts,
		Quiet: o.quiet, MaxDelay: o.maxDelay,
		Metrics: controlplane.NewMetrics(reg), Log: log,
	}
	if src != nil {
		cpCfg.LineOf = src.LineOf // rejections are logged with the field's file:line
	}
	if k != nil {
		// Wake the status writer after each translation rather than
		// waiting for its interval.
		cpCfg.OnTranslated = func() {
			if k.status != nil {
				k.status.Trigger()
			}
		}
	}
	runner := controlplane.New(cpCfg)
	reports := runner.Reports()
	if src != nil {
		reports.SetExtra(func() []controlplane.ResourceStatus { return fileErrors(src.Errors()) })
	}
	if k != nil {
		if err := k.startStatus(st, reports); err != nil {
			return err
		}
		if err := k.elect(); err != nil {
			return err
		}
	}

	// TLS and mTLS on xDS: credentials, certificate reloading, and which
	// identities read which fleet.
	xdsSec, err := newXDSSecurity(o.xdsTLS, o.xdsAddr, log)
	if err != nil {
		return err
	}

	xsrv, err := xds.New(cache, xds.WithLogger(log), xds.WithRegisterer(reg), xds.WithLimits(o.xdsLimits), xds.WithFleetAccess(xdsSec.access))
	if err != nil {
		return err
	}
	// An object shows the NACKs that still stand against it.
	reports.SetNacks(xsrv.StandingNacks)

	xdsLis, err := net.Listen("tcp", o.xdsAddr)
	if err != nil {
		return fmt.Errorf("xds listen %s: %w", o.xdsAddr, err)
	}
	xdsLis = xds.LimitConnections(xdsLis, o.xdsMaxConns, xsrv)
	adminLis, err := net.Listen("tcp", o.adminAddr)
	if err != nil {
		xdsLis.Close()
		return fmt.Errorf("admin listen %s: %w", o.adminAddr, err)
	}
	var debugLis net.Listener
	if o.debugAddr != "" {
		if debugLis, err = net.Listen("tcp", o.debugAddr); err != nil {
			xdsLis.Close()
			adminLis.Close()
			return fmt.Errorf("debug listen %s: %w", o.debugAddr, err)
		}
	}
	gs := xds.NewGRPCServer(append(xdsSec.serverOpts, xds.MaxConnectionAge(o.xdsMaxAge, o.xdsMaxAgeGrace))...)
	xsrv.Register(gs)

	// Ready once the first snapshot is served, and no longer once shutdown
	// begins, so that load balancers stop sending new proxies here first;
	// nor while the canary engine has a rollback it could not save yet (a
	// restart now would resume the bad release).
	var stopping atomic.Bool
	var engineReady atomic.Pointer[func() error]
	ready := func() error {
		select {
		case <-cache.Ready():
		default:
			return errors.New("no snapshot served yet")
		}
		if stopping.Load() {
			return errors.New("shutting down")
		}
		if f := engineReady.Load(); f != nil {
			return (*f)()
		}
		return nil
	}
	instance := instanceID()
	adm := admin.New(admin.Backend{
		Instance:    instance,
		Ready:       ready,
		Resources:   reports.List,
		Nodes:       xsrv.Nodes,
		Snapshot:    cache.SnapshotJSON,
		LoadReports: xsrv.Loads().Totals,
	}, reg, token)
	httpSrv := &http.Server{Handler: adm, ReadHeaderTimeout: 10 * time.Second}
	// No write timeout on the debug server: a CPU profile or trace streams
	// for as many seconds as asked.
	debugSrv := &http.Server{Handler: admin.Debug(), ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// The first error ends the process; later ones (usually caused by the
	// first) are logged.
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		if err != firstErr {
			log.Error("after the first error", "err", err)
		}
		cancel()
	}
	run := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				fail(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	// Until the first snapshot /readyz answers 503; xDS connections queue
	// until the gRPC server starts below, after every service (the canary
	// engine's metrics service too) is registered.
	run("source", runSource)
	if xdsSec.reloader != nil {
		run("xds-tls", xdsSec.reloader.Run) // certificate rotation
	}
	run("admin", func(context.Context) error {
		if err := httpSrv.Serve(adminLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if debugLis != nil {
		run("debug", func(context.Context) error {
			if err := debugSrv.Serve(debugLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}

	// The first translation waits for the complete initial state (the
	// informers' sync), and for saved canary rollouts to be restored into
	// the store, so clients never see a partial configuration or the
	// group's spec weights in the middle of a rollout.
	select {
	case <-synced:
	case <-ctx.Done():
	}
	// The canary engine restores saved rollouts into the store, then the
	// gRPC server (with the engine's metrics service registered) and the
	// translation loop start.
	detach, stopStreams := func() {}, func() {}
	defer func() { detach() }()
	startPipeline := func() error {
		var (
			status   canary.StatusStore
			releases canary.ReleaseLog
			isLeader func() bool
		)
		if k != nil {
			var err error
			if status, err = k.canaryStatus(); err != nil {
				return fmt.Errorf("canary status: %w", err)
			}
			if releases, err = k.releaseLog(); err != nil {
				return fmt.Errorf("canary releases: %w", err)
			}
			isLeader = k.isLeader()
		}
		eng, err := newCanaryEngine(ctx, log, o.canary, st, xsrv, gs, adm, status, releases, isLeader)
		if err != nil {
			return fmt.Errorf("canary engine: %w", err)
		}
		detach, stopStreams = eng.detach, eng.metricsService.Stop
		engReady := eng.Ready
		engineReady.Store(&engReady)
		run("xds", func(context.Context) error {
			if err := gs.Serve(xdsLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return err
			}
			return nil
		})
		run("canary", eng.Run)
		if discoverPeers != nil {
			// While leading, the load that the other replicas' clients
			// report reaches the LRS provider next to this replica's own.
			p, err := peers.New(peers.Config{Self: instance, Discover: discoverPeers, Sink: eng.lrs.Observe, IsLeader: isLeader, Log: log,
				Client: peerClient(token)})
			if err != nil {
				return err
			}
			run("peers", p.Run)
		}
		run("translate", runner.Run)
		if k != nil {
			for name, fn := range k.runners(st, opts) {
				run(name, fn)
			}
		}
		return nil
	}
	if ctx.Err() == nil {
		if err := startPipeline(); err != nil {
			fail(err)
		}
	}

	select {
	case <-cache.Ready():
		printEndpoints(a, o, xdsLis.Addr().String(), adminLis.Addr().String())
	case <-ctx.Done():
	}
	<-ctx.Done()
	log.Info("shutting down")
	stopping.Store(true)

	// ADS and metrics-service streams never end on their own: end them
	// first so GracefulStop only waits for in-flight handlers.
	xsrv.Stop()
	stopStreams()
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(o.shutdownGrace):
		gs.Stop()
	}
	sctx, scancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer scancel()
	_ = httpSrv.Shutdown(sctx)
	_ = debugSrv.Close() // profiles in progress are not worth waiting for
	wg.Wait()
	return firstErr
}

// peerDiscovery returns how the leader finds the other replicas (--peers
// or --peers-service), or nil when it should count only its own clients.
func peerDiscovery(o serveOptions, k *kubeServe) (peers.Discover, error) {
	switch {
	case k == nil && o.kube.peersService != "":
		return nil, fmt.Errorf("--peers-service needs --kube")
	case len(o.peers) > 0 && o.kube.peersService != "":
		return nil, fmt.Errorf("--peers and --peers-service exclude each other")
	case len(o.peers) > 0:
		d, err := peers.Static(o.peers)
		if err != nil {
			return nil, fmt.Errorf("--peers: %w", err)
		}
		return d, nil
	case k != nil:
		d, err := k.peerDiscover()
		if err != nil {
			return nil, fmt.Errorf("--peers-service: %w", err)
		}
		return d, nil
	}
	return nil, nil
}

// instanceID names this process on /api/v1/loadreports: the host (the pod
// name) and a random suffix, new at every start, so that a peer's restart
// shows as a new id.
func instanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}
