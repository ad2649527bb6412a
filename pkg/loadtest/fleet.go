package loadtest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/serin-dev/serin/pkg/adsclient"
)

// FleetConfig says how many clients to open against which server, and how.
type FleetConfig struct {
	Addr    string
	Clients int
	// StreamsPerConn is how many ADS streams share one gRPC connection.
	// serin allows 100 concurrent streams per connection (xds/options.go).
	StreamsPerConn int
	Delta          bool
	// NackFraction of the clients NACK every route update after their
	// first (they still ACK clusters, endpoints and listeners).
	NackFraction float64
	// NodeCluster is node.cluster: the fleet the clients belong to.
	NodeCluster string
	// IDPrefix starts every node id ("load-" by default).
	IDPrefix string
	// Creds are the connections' transport credentials; nil is plaintext.
	Creds credentials.TransportCredentials
}

// Fleet is a set of running clients.
type Fleet struct {
	cfg      FleetConfig
	reg      *Registry
	conns    []*grpc.ClientConn
	members  []*member
	started  time.Time
	complete atomic.Int64
}

// member is one client and what it saw.
type member struct {
	id     int
	client *adsclient.Client
	nacker bool
	routes atomic.Int64 // route responses seen
	// events are the RDS versions it ACKed (or NACKed) and when; written
	// only on the client's receive goroutine, read after Close or under mu.
	mu        sync.Mutex
	events    []event
	responses int
	bytes     int64
	nacks     int
	done      bool
	// completeAt is when the client first had clusters, endpoints for all
	// of them, listeners and routes.
	completeAt time.Time
}

type event struct {
	ver uint32
	at  time.Time
}

// StartFleet opens cfg.Clients streams, all at once (the connect storm),
// and returns without waiting for them to be served: see WaitComplete.
func StartFleet(ctx context.Context, cfg FleetConfig, reg *Registry) (*Fleet, error) {
	if cfg.StreamsPerConn <= 0 {
		cfg.StreamsPerConn = 100
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "load-"
	}
	if cfg.NodeCluster == "" {
		cfg.NodeCluster = "default"
	}
	f := &Fleet{cfg: cfg, reg: reg, started: time.Now()}
	nConns := (cfg.Clients + cfg.StreamsPerConn - 1) / cfg.StreamsPerConn
	creds := cfg.Creds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	for range nConns {
		conn, err := grpc.NewClient(cfg.Addr,
			grpc.WithTransportCredentials(creds),
			// Full CDS of a large fleet exceeds gRPC's 4 MiB default.
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dial %s: %w", cfg.Addr, err)
		}
		f.conns = append(f.conns, conn)
	}
	nackEvery := 0
	if cfg.NackFraction > 0 {
		nackEvery = max(1, int(math.Round(1/cfg.NackFraction)))
	}
	f.members = make([]*member, cfg.Clients)
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Clients)
	for i := range cfg.Clients {
		m := &member{id: i, nacker: nackEvery > 0 && i%nackEvery == nackEvery-1}
		f.members[i] = m
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := adsclient.Start(ctx, f.conns[i/cfg.StreamsPerConn], f.clientConfig(m))
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			m.mu.Lock()
			m.client = c
			m.mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Fleet) clientConfig(m *member) adsclient.Config {
	cfg := adsclient.Config{
		Node:  &corev3.Node{Id: fmt.Sprintf("%s%05d", f.cfg.IDPrefix, m.id), Cluster: f.cfg.NodeCluster},
		Delta: f.cfg.Delta,
		Lean:  true,
		OnResponse: func(r adsclient.Response) {
			now := time.Now()
			var ev *event
			if r.TypeURL == adsclient.RouteType {
				ev = &event{ver: f.reg.Observe(r.Version, r.Raw), at: now}
				m.routes.Add(1)
			}
			m.mu.Lock()
			c := m.client
			m.responses++
			m.bytes += int64(r.Bytes)
			if r.Nacked {
				m.nacks++
			}
			if ev != nil {
				m.events = append(m.events, *ev)
			}
			check := !m.done && c != nil
			m.mu.Unlock()
			if check && f.isComplete(c) {
				f.markComplete(m, now)
			}
		},
	}
	if m.nacker {
		cfg.Reject = func(r adsclient.Response) (bool, string) {
			if r.TypeURL != adsclient.RouteType {
				return false, ""
			}
			// The first route configuration is accepted so the client is
			// complete; every later one is rejected.
			return m.routes.Load() > 0, "serin-load: rejecting route update (--nack-fraction)"
		}
	}
	return cfg
}

// isComplete: routes ACKed and an endpoint assignment for every EDS
// cluster. A client is checked only on its own goroutine.
func (f *Fleet) isComplete(c *adsclient.Client) bool {
	return c.Version(adsclient.RouteType) != "" && c.Version(adsclient.EndpointType) != "" &&
		c.Count(adsclient.ClusterType) > 0 && c.Count(adsclient.EndpointType) >= c.Count(adsclient.ClusterType) &&
		c.Count(adsclient.ListenerType) > 0
}

func (f *Fleet) markComplete(m *member, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		m.done, m.completeAt = true, at
		f.complete.Add(1)
	}
}

// WaitComplete waits until every client has a complete configuration and
// returns the time from StartFleet to the last one.
func (f *Fleet) WaitComplete(ctx context.Context) (time.Duration, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n := 0; f.complete.Load() < int64(len(f.members)); n++ {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d clients complete: %w", f.complete.Load(), len(f.members), ctx.Err())
		case <-tick.C:
		}
		if err := f.firstErr(); err != nil {
			return 0, err
		}
		// A client whose last response came before Start returned was
		// not checked by its hook; look every 100 ms.
		for _, m := range f.members {
			if n%20 != 0 {
				break
			}
			m.mu.Lock()
			c, done := m.client, m.done
			m.mu.Unlock()
			if !done && c != nil && f.isComplete(c) {
				f.markComplete(m, time.Now())
			}
		}
	}
	var last time.Time
	for _, m := range f.members {
		m.mu.Lock()
		if m.completeAt.After(last) {
			last = m.completeAt
		}
		m.mu.Unlock()
	}
	return last.Sub(f.started), nil
}

func (f *Fleet) firstErr() error {
	for _, m := range f.members {
		m.mu.Lock()
		c := m.client
		m.mu.Unlock()
		if c == nil {
			continue
		}
		select {
		case <-c.Done():
			return fmt.Errorf("client %d: stream ended: %v", m.id, c.Err())
		default:
		}
	}
	return nil
}

// Counters are totals over the fleet.
type Counters struct {
	Responses int64
	Bytes     int64
	Nacks     int64
}

// Counters sums what every client received so far.
func (f *Fleet) Counters() Counters {
	var c Counters
	for _, m := range f.members {
		m.mu.Lock()
		c.Responses += int64(m.responses)
		c.Bytes += m.bytes
		c.Nacks += int64(m.nacks)
		m.mu.Unlock()
	}
	return c
}

// Close ends every stream and connection.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	for _, m := range f.members {
		m.mu.Lock()
		c := m.client
		m.mu.Unlock()
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
	}
	wg.Wait()
	for _, c := range f.conns {
		c.Close()
	}
}
