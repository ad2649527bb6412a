// Package xds serves snapshots over one gRPC port: ADS state-of-the-world
// and delta, written here rather than taken from go-control-plane's server
// (which never answers requests that don't name every resource, and re-sends
// NACKed versions in a loop), and the LRS load-reporting service. It tracks
// every node's subscriptions, ACKed versions and NACKs.
package xds

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/serin-dev/serin/pkg/load"
	"github.com/serin-dev/serin/snapshot"
)

// DefaultLoadReportInterval is the LRS interval clients are asked for: the
// canary engine judges steps over tens of seconds, so one second gives it
// fine-grained data at a few small messages per client per second.
const DefaultLoadReportInterval = time.Second

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRegisterer registers the serin_xds_ metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(s *Server) { s.reg = reg } }

// WithNackHandler calls fn for every NACK, on the node's stream goroutine:
// fn must return quickly (hand off to a channel if it does I/O).
func WithNackHandler(fn func(Nack)) Option { return func(s *Server) { s.onNack = fn } }

// WithLoadReportInterval sets the LRS interval asked of clients.
func WithLoadReportInterval(d time.Duration) Option {
	return func(s *Server) { s.lrsInterval = d }
}

// WithFleetAccess lets a node read only the fleets its client certificate
// allows (see FleetAccess); nil, the default, lets every node read the
// fleet it names. The gRPC server needs client-certificate credentials for
// nodes to have identities.
func WithFleetAccess(a *FleetAccess) Option { return func(s *Server) { s.access = a } }

// Server serves a snapshot.Cache over ADS (SotW and delta) and collects LRS
// load reports.
type Server struct {
	cache       *snapshot.Cache
	log         *slog.Logger
	reg         prometheus.Registerer
	onNack      func(Nack)
	lrsInterval time.Duration
	access      *FleetAccess
	metrics     *metrics
	denied      *prometheus.CounterVec // streams refused by access
	loads       *load.Store
	shared      *shared
	standing    standingNacks
	limits      Limits // bounds on what a peer makes the server keep (limits.go)
	budget      *responseBudget

	mu      sync.Mutex
	streams map[int64]*stream
	// byNode indexes streams by node id: LRS reports are matched to what
	// the node's ADS streams were sent (lrs.go).
	byNode map[string]map[int64]*stream
	open   int // ADS and LRS streams, against limits.MaxStreams
	nextID int64

	done     chan struct{}
	stopOnce sync.Once
	unsub    func()
}

// New returns a server for cache. Register it on a grpc.Server (see
// NewGRPCServer); call Stop before the grpc.Server's GracefulStop.
func New(cache *snapshot.Cache, opts ...Option) (*Server, error) {
	s := &Server{
		cache:       cache,
		log:         slog.Default(),
		lrsInterval: DefaultLoadReportInterval,
		streams:     map[int64]*stream{},
		byNode:      map[string]map[int64]*stream{},
		limits:      DefaultLimits,
		shared:      &shared{},
		done:        make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		return nil, fmt.Errorf("xds metrics: %w", err)
	}
	s.metrics = m
	if s.denied, err = newDeniedCounter(s.reg); err != nil {
		return nil, fmt.Errorf("xds metrics: %w", err)
	}
	s.loads = load.NewStore(load.WithMaxClusters(s.limits.MaxLoadClusters))
	s.budget = newResponseBudget(int64(s.limits.MaxResponseBytesInFlight), m)
	s.unsub = cache.Subscribe(s.wake)
	return s, nil
}

// Register adds the ADS and LRS services to gs; with WithFleetAccess,
// each stream goes through the fleet check (fleet.go) first.
func (s *Server) Register(gs *grpc.Server) {
	if s.access == nil {
		discoveryv3.RegisterAggregatedDiscoveryServiceServer(gs, adsService{s})
		lrsv3.RegisterLoadReportingServiceServer(gs, lrsService{s})
		return
	}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(gs, guardedADS{s})
	lrsv3.RegisterLoadReportingServiceServer(gs, guardedLRS{s})
}

// guardedADS and guardedLRS are the services behind a fleet check.
type (
	guardedADS struct{ s *Server }
	guardedLRS struct{ s *Server }
)

func (a guardedADS) StreamAggregatedResources(ss grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return adsService{a.s}.StreamAggregatedResources(guard(a.s, ss, "sotw", (*discoveryv3.DiscoveryRequest).GetNode))
}

func (a guardedADS) DeltaAggregatedResources(ss grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return adsService{a.s}.DeltaAggregatedResources(guard(a.s, ss, "delta", (*discoveryv3.DeltaDiscoveryRequest).GetNode))
}

// StreamLoadStats takes reports only from a node that may read the fleet
// they would be counted for: a node of fleet A cannot skew fleet B's
// canary analysis, and a node without a certificate reports nothing.
func (l guardedLRS) StreamLoadStats(ss grpc.BidiStreamingServer[lrsv3.LoadStatsRequest, lrsv3.LoadStatsResponse]) error {
	return lrsService{l.s}.StreamLoadStats(guard(l.s, ss, "lrs", (*lrsv3.LoadStatsRequest).GetNode))
}

func newDeniedCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "serin_xds_denied_streams_total",
		Help: "ADS, LRS and Envoy stats streams refused because the node's certificate may not read its fleet, by protocol (sotw, delta, lrs, metrics) and fleet.",
	}, []string{"protocol", "fleet"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			return are.ExistingCollector.(*prometheus.CounterVec), nil
		}
	}
	return c, nil
}

// Loads returns the store the LRS service adds clients' reports to.
func (s *Server) Loads() *load.Store { return s.loads }

// Stop ends every open stream (clients reconnect, to this server's
// successor) and stops watching the cache. ADS streams never end on their
// own, so grpc.Server.GracefulStop waits for ever unless Stop comes first.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.done)
		s.unsub()
	})
}

// wake is the cache subscription: only streams whose fleet changed, or
// which may move to a fleet that appeared or disappeared, are woken.
func (s *Server) wake(changed []string) {
	set := make(map[string]bool, len(changed))
	for _, f := range changed {
		set[f] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		if st.interested(set) {
			select {
			case st.wakeCh <- struct{}{}:
			default: // already pending
			}
		}
	}
}

func (s *Server) addStream(st *stream, nodeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	st.id = s.nextID
	st.nodeID = nodeID
	s.streams[st.id] = st
	if s.byNode[nodeID] == nil {
		s.byNode[nodeID] = map[int64]*stream{}
	}
	s.byNode[nodeID][st.id] = st
	s.metrics.connected.WithLabelValues(st.protocol).Inc()
}

func (s *Server) removeStream(st *stream) {
	st.stopTimer()
	st.releaseHolds()
	s.standing.dropStream(st.id) // the node left: its NACKs no longer stand
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[st.id]; ok {
		delete(s.streams, st.id)
		if m := s.byNode[st.nodeID]; m != nil {
			delete(m, st.id)
			if len(m) == 0 {
				delete(s.byNode, st.nodeID)
			}
		}
		s.metrics.connected.WithLabelValues(st.protocol).Dec()
	}
}
