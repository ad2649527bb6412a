package xds

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

type deltaClient struct {
	t      *testing.T
	node   *corev3.Node
	stream grpc.BidiStreamingClient[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]
	resps  chan *discoveryv3.DeltaDiscoveryResponse
}

func (e *env) delta(t *testing.T, n *corev3.Node) *deltaClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := discoveryv3.NewAggregatedDiscoveryServiceClient(e.conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &deltaClient{t: t, node: n, stream: s, resps: make(chan *discoveryv3.DeltaDiscoveryResponse, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r, err := s.Recv()
			if err != nil {
				return
			}
			c.resps <- r
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func (c *deltaClient) send(req *discoveryv3.DeltaDiscoveryRequest) {
	c.t.Helper()
	req.Node = c.node
	if err := c.stream.Send(req); err != nil && !errors.Is(err, io.EOF) { // EOF: ended by the server; Recv says why
		c.t.Fatal(err)
	}
}

func (c *deltaClient) ack(r *discoveryv3.DeltaDiscoveryResponse) {
	c.t.Helper()
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()})
}

// expect returns the next response, of typeURL, and its changed resources'
// names; it validates them.
func (c *deltaClient) expect(typeURL string) (*discoveryv3.DeltaDiscoveryResponse, []string) {
	c.t.Helper()
	select {
	case r := <-c.resps:
		if r.GetTypeUrl() != typeURL {
			c.t.Fatalf("got a delta %s response, want %s", short(r.GetTypeUrl()), short(typeURL))
		}
		var anys []*anypb.Any
		var names []string
		for _, res := range r.GetResources() {
			anys = append(anys, res.GetResource())
			names = append(names, res.GetName())
		}
		validate(c.t, anys)
		return r, names
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no delta %s response", short(typeURL))
	}
	return nil, nil
}

func (c *deltaClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case r := <-c.resps:
		c.t.Fatalf("unexpected delta %s response: %d resources, removed %v", short(r.GetTypeUrl()), len(r.GetResources()), r.GetRemovedResources())
	case <-time.After(d):
	}
}

func TestDelta(t *testing.T) {
	e := start(t, snapshot.WithDrain(150*time.Millisecond))
	update(t, e, app(90, 10))
	c := e.delta(t, node("envoy-delta", "default", ""))
	both := []string{"myapp-v1_default", "myapp-v2_default"}

	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: cds}) // wildcard
	r, names := c.expect(cds)
	if !slices.Equal(names, both) {
		t.Fatalf("CDS = %v", names)
	}
	c.ack(r)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: both})
	r, names = c.expect(eds)
	if !slices.Equal(names, both) {
		t.Fatalf("EDS = %v", names)
	}
	c.ack(r)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: lds, ResourceNamesSubscribe: []string{"*"}})
	r, names = c.expect(lds)
	if !slices.Equal(names, []string{"http"}) {
		t.Fatalf("wildcard LDS = %v, want the socket listener only", names)
	}
	c.ack(r)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: rds, ResourceNamesSubscribe: []string{"http", "missing"}})
	r, names = c.expect(rds)
	if !slices.Equal(names, []string{"http"}) || !slices.Equal(r.GetRemovedResources(), []string{"missing"}) {
		t.Fatalf("RDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.quiet(100 * time.Millisecond)

	// Change one cluster: only it is sent.
	res := app(90, 10).Resources()
	res.Clusters[0].ConnectTimeout = durationpb.New(4 * time.Second)
	if err := e.cache.Update(defaultFleet(res)); err != nil {
		t.Fatal(err)
	}
	r, names = c.expect(cds)
	if !slices.Equal(names, []string{"myapp-v1_default"}) || len(r.GetRemovedResources()) != 0 {
		t.Fatalf("changed CDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.quiet(100 * time.Millisecond)

	// Unsubscribe v1's endpoints: no removal is sent, and a change to them
	// sends nothing.
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesUnsubscribe: []string{"myapp-v1_default"}})
	c.quiet(100 * time.Millisecond)
	res = app(90, 10).Resources()
	res.Clusters[0].ConnectTimeout = durationpb.New(4 * time.Second)
	res.Endpoints[0] = st.Endpoints("myapp-v1_default", "127.0.0.1:9999")
	if err := e.cache.Update(defaultFleet(res)); err != nil {
		t.Fatal(err)
	}
	c.quiet(150 * time.Millisecond)

	// Remove v2: routes first, the cluster and its endpoints after the drain.
	res = app(100).Resources()
	res.Clusters[0].ConnectTimeout = durationpb.New(4 * time.Second)
	res.Endpoints[0] = st.Endpoints("myapp-v1_default", "127.0.0.1:9999")
	if err := e.cache.Update(defaultFleet(res)); err != nil {
		t.Fatal(err)
	}
	r, names = c.expect(rds)
	if !slices.Equal(names, []string{"http"}) {
		t.Fatalf("RDS = %v", names)
	}
	c.ack(r)
	r, _ = c.expect(cds)
	if len(r.GetResources()) != 0 || !slices.Equal(r.GetRemovedResources(), []string{"myapp-v2_default"}) {
		t.Fatalf("CDS after drain: %d resources, removed %v", len(r.GetResources()), r.GetRemovedResources())
	}
	c.ack(r)
	r, _ = c.expect(eds)
	if !slices.Equal(r.GetRemovedResources(), []string{"myapp-v2_default"}) {
		t.Fatalf("EDS after drain removed %v", r.GetRemovedResources())
	}
	c.ack(r)

	// NACK: recorded, not re-sent.
	res = app(100).Resources()
	res.Clusters[0].ConnectTimeout = durationpb.New(9 * time.Second)
	if err := e.cache.Update(defaultFleet(res)); err != nil {
		t.Fatal(err)
	}
	r, _ = c.expect(cds)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: cds, ResponseNonce: r.GetNonce(), ErrorDetail: &statuspb.Status{Message: "no"}})
	c.quiet(300 * time.Millisecond)
	ns := e.srv.Nodes()
	if len(ns) != 1 || ns[0].Protocol != "delta" || ns[0].Types[0].LastNack == nil || ns[0].Types[0].LastNack.Message != "no" {
		t.Fatalf("nodes = %+v", ns)
	}
}

// A reconnecting delta client that already has everything gets an empty
// first response (so it finishes initializing) and nothing more.
func TestDeltaInitialVersions(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	have := map[string]string{}
	for _, r := range e.cache.Snapshot("default").Resources(snapshot.KindCluster) {
		have[r.Name] = r.Version
	}
	have["gone_default"] = "x"
	c := e.delta(t, node("envoy-delta", "default", ""))
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: cds, InitialResourceVersions: have})
	r, names := c.expect(cds)
	if len(names) != 0 || !slices.Equal(r.GetRemovedResources(), []string{"gone_default"}) {
		t.Fatalf("first CDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.quiet(100 * time.Millisecond)
}

func defaultFleet(r *translator.Resources) *translator.Output {
	return &translator.Output{Fleets: map[string]*translator.Resources{"default": r}}
}

// A name unsubscribed is forgotten: subscribing to it again sends it again,
// and names subscribed alike by several requests are answered once.
func TestDeltaResubscribe(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	both := []string{"myapp-v1_default", "myapp-v2_default"}
	c := e.delta(t, node("envoy-delta", "default", ""))
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: both})
	r, names := c.expect(eds)
	if !slices.Equal(names, both) {
		t.Fatalf("EDS = %v", names)
	}
	c.ack(r)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesUnsubscribe: both[:1]})
	c.quiet(100 * time.Millisecond)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: both[:1]})
	r, names = c.expect(eds)
	if !slices.Equal(names, both[:1]) || len(r.GetRemovedResources()) != 0 {
		t.Fatalf("resubscribed EDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.quiet(100 * time.Millisecond)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: []string{"missing", both[0]}, ResourceNamesUnsubscribe: both[1:]})
	r, names = c.expect(eds)
	if len(names) != 0 || !slices.Equal(r.GetRemovedResources(), []string{"missing"}) {
		t.Fatalf("EDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: both[1:]})
	r, names = c.expect(eds)
	if !slices.Equal(names, both[1:]) || len(r.GetRemovedResources()) != 0 {
		t.Fatalf("EDS = %v removed %v", names, r.GetRemovedResources())
	}
	c.ack(r)
	c.quiet(100 * time.Millisecond)

	// A second client subscribing alike shares the subscription.
	c2 := e.delta(t, node("envoy-delta-2", "default", ""))
	c2.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: eds, ResourceNamesSubscribe: []string{"missing", both[1], both[0]}})
	r, names = c2.expect(eds)
	if !slices.Equal(names, both) || !slices.Equal(r.GetRemovedResources(), []string{"missing"}) {
		t.Fatalf("second client EDS = %v removed %v", names, r.GetRemovedResources())
	}
	c2.ack(r)
	c2.quiet(100 * time.Millisecond)
	var sorted, have [][]string
	e.srv.mu.Lock()
	for _, s := range e.srv.streams {
		s.mu.Lock()
		ts := s.types[snapshot.KindEndpoint]
		sorted = append(sorted, ts.sub.sorted)
		if ts.delta.have.base == nil || len(ts.delta.have.over) != 0 {
			t.Errorf("have = %+v, want a base only", ts.delta.have)
		} else {
			have = append(have, ts.delta.have.base.names)
		}
		s.mu.Unlock()
	}
	e.srv.mu.Unlock()
	if len(sorted) != 2 || &sorted[0][0] != &sorted[1][0] || len(have) != 2 || &have[0][0] != &have[1][0] {
		t.Fatalf("subscriptions %v and have-sets %v are not shared", sorted, have)
	}
}
