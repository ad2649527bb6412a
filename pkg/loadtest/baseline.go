package loadtest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	deltav3 "github.com/envoyproxy/go-control-plane/pkg/server/delta/v3"
	sotwv3 "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	"google.golang.org/grpc"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/envoyrefs"
	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/translator"
	"github.com/serin-dev/serin/xds"
)

// Baseline is a bare go-control-plane v0.14 server (SnapshotCache in ADS
// mode plus server.NewServer) serving the same translated resources as
// serin, on the same gRPC server settings. A change modifies the input,
// translates it again (as serin does) and sets a new snapshot whose route
// version alone is bumped: the baseline is told which type changed and
// does no hashing, so it is a lower bound on what a go-control-plane user
// pays.
type Baseline struct {
	Addr string

	cancel context.CancelFunc
	gs     *grpc.Server
	cache  cachev3.SnapshotCache
	opts   translator.Options

	mu       sync.Mutex
	in       *translator.Input
	rdsGen   int
	snapshot *cachev3.Snapshot
}

// oneFleet hashes every node to one snapshot, as serin's default fleet.
type oneFleet struct{}

func (oneFleet) ID(*corev3.Node) string { return "default" }

// StartBaseline serves cfg's translation on a loopback port.
func StartBaseline(cfg gen.Config, opts translator.Options) (*Baseline, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Baseline{
		Addr:   lis.Addr().String(),
		cancel: cancel,
		gs:     xds.NewGRPCServer(),
		cache:  cachev3.NewSnapshotCache(true, oneFleet{}, nil),
		opts:   opts,
		in:     gen.Input(cfg),
	}
	if err := b.publish(); err != nil {
		cancel()
		lis.Close()
		return nil, err
	}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(b.gs, gcpADS{
		sotw:  sotwv3.NewServer(ctx, b.cache, nil),
		delta: deltav3.NewServer(ctx, b.cache, nil),
	})
	go b.gs.Serve(lis)
	return b, nil
}

// Apply sets the service's canary weight, translates and publishes.
func (b *Baseline) Apply(ch Change) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch.Service < 0 || ch.Service >= len(b.in.UpstreamGroups) {
		return fmt.Errorf("change %d: no service %d", ch.Seq, ch.Service)
	}
	groups := slices.Clone(b.in.UpstreamGroups)
	g := groups[ch.Service].Obj.DeepCopy()
	g.Spec.Destinations[1].Weight = int64(ch.Weight)
	groups[ch.Service] = translator.Object[*v1alpha1.UpstreamGroup]{Obj: g, Rev: groups[ch.Service].Rev + 1}
	in := *b.in
	in.UpstreamGroups = groups
	b.in = &in
	b.rdsGen++
	return b.publish()
}

// publish translates b.in and sets the snapshot; callers hold mu (or are
// StartBaseline).
func (b *Baseline) publish() error {
	res := translator.Translate(b.in, b.opts).Fleets["default"]
	if res == nil {
		return fmt.Errorf("baseline: no default fleet")
	}
	// Envoy's wildcard LDS gets socket listeners, and go-control-plane's
	// ADS SnapshotCache answers an RDS request only when it names every
	// route of the snapshot: serve just the routes those listeners name.
	named := map[string]bool{}
	var listeners, routes []types.Resource
	for _, l := range res.Listeners {
		listeners = append(listeners, l)
		for _, h := range envoyrefs.ListenerHCMs(l) {
			named[h.GetRds().GetRouteConfigName()] = true
		}
	}
	for _, r := range res.Routes {
		if named[r.GetName()] {
			routes = append(routes, r)
		}
	}
	clusters := make([]types.Resource, 0, len(res.Clusters))
	for _, c := range res.Clusters {
		clusters = append(clusters, c)
	}
	endpoints := make([]types.Resource, 0, len(res.Endpoints))
	for _, e := range res.Endpoints {
		endpoints = append(endpoints, e)
	}
	s := &cachev3.Snapshot{}
	if b.snapshot != nil {
		*s = *b.snapshot
	} else {
		s.Resources[types.Cluster] = cachev3.NewResources("1", clusters)
		s.Resources[types.Endpoint] = cachev3.NewResources("1", endpoints)
		s.Resources[types.Listener] = cachev3.NewResources("1", listeners)
	}
	s.Resources[types.Route] = cachev3.NewResources(fmt.Sprintf("r%d", b.rdsGen), routes)
	s.VersionMap = nil
	if err := s.Consistent(); err != nil {
		return fmt.Errorf("baseline snapshot: %w", err)
	}
	b.snapshot = s
	return b.cache.SetSnapshot(context.Background(), "default", s)
}

// Stop ends the server.
func (b *Baseline) Stop() {
	b.cancel()
	b.gs.Stop()
}

// gcpADS is what go-control-plane's server.NewServer does for ADS, without
// its REST and rate-limit services (whose module serin does not need).
type gcpADS struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	sotw  sotwv3.Server
	delta deltav3.Server
}

func (a gcpADS) StreamAggregatedResources(s discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	return a.sotw.StreamHandler(s, resource.AnyType)
}

func (a gcpADS) DeltaAggregatedResources(s discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	return a.delta.DeltaStreamHandler(s, resource.AnyType)
}
