package xds

import (
	"fmt"
	"slices"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

// servedRoute is the SotW version of route configuration name as the cache
// serves it now.
func servedRoute(t *testing.T, e *env, name string) string {
	t.Helper()
	_, s := e.cache.Resolve(snapshot.DefaultFleet)
	r := s.Get(snapshot.KindRoute, name)
	if r == nil {
		t.Fatalf("route %q not served", name)
	}
	return snapshot.SetVersion([]*snapshot.Resource{r})
}

// Endpoints change faster than the node ACKs EDS (every ACK names a nonce
// already superseded), and meanwhile the weights are rolled back: the
// rollback is one RDS push over clusters the node has, and must go out.
// Routes used to wait for every CDS/EDS response to be ACKed, so a node
// under endpoint churn never got them.
func TestEndpointChurnDoesNotStarveRoutes(t *testing.T) {
	e := start(t, snapshot.WithDrain(0))
	update(t, e, app(90, 10))
	c := e.sotw(t, node("envoy-1", "default", ""))
	clusters := envoyHandshake(t, c)

	rolledBack := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // endpoints churn every 20 ms; the rollback at ~500 ms
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			w := []uint32{90, 10}
			if i >= 25 {
				w = []uint32{100, 0}
			}
			res := app(w...).Resources()
			res.Endpoints[0] = st.Endpoints(res.Endpoints[0].GetClusterName(), fmt.Sprintf("127.0.0.1:%d", 10000+i%1000))
			if err := e.cache.Update(st.Default(res)); err != nil {
				t.Error(err)
				return
			}
			if i == 25 {
				close(rolledBack)
			}
		}
	}()
	defer func() { close(stop); <-done }()

	var edsN int
	var want string
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r := <-c.resps:
			c.last[r.GetTypeUrl()] = r
			switch r.GetTypeUrl() {
			case eds:
				edsN++
				time.Sleep(50 * time.Millisecond) // a slow node
				c.ack(r, clusters)
			case rds:
				c.ack(r, []string{"http"})
				select {
				case <-rolledBack:
					if want == "" {
						want = servedRoute(t, e, "http")
					}
				default:
				}
				if want != "" && r.GetVersionInfo() == want {
					t.Logf("rollback sent after %d EDS responses", edsN)
					return
				}
			default:
				c.ack(r, nil)
			}
		case <-deadline:
			t.Fatalf("the rolled back routes never reached the node (%d EDS responses meanwhile)", edsN)
		}
	}
}

// Envoy without EDS watches records the nonce of an EDS response and sends
// nothing, so an empty EDS response is never ACKed. It must not hold
// listeners and routes, which need nothing from it.
func TestEmptyEDSDoesNotHoldListenersOrRoutes(t *testing.T) {
	e := start(t, snapshot.WithDrain(0))
	update(t, e, app(100))
	c := e.sotw(t, node("envoy-1", "default", ""))
	envoyHandshake(t, c)

	noClusters := func(port uint32) *translator.Output {
		return st.Default(&translator.Resources{
			Listeners: []*listenerv3.Listener{st.HTTPListener("http", port, "http")},
			Routes:    []*routev3.RouteConfiguration{{Name: "http"}},
		})
	}
	if err := e.cache.Update(noClusters(8080)); err != nil {
		t.Fatal(err)
	}
	r := c.expect(cds)
	// The last EDS watch is gone: an EDS request with no names and the
	// stale nonce, then the CDS ACK.
	c.request(eds, nil, "")
	c.ack(r, nil)
	if er := c.expect(eds); len(er.GetResources()) != 0 {
		t.Fatalf("EDS = %v, want empty", resourceNames(er.GetResources()))
	}
	// No ACK of the empty EDS.
	r = c.expect(rds)
	if got := routeClusters(t, r); len(got) != 0 {
		t.Errorf("routes name %v", got)
	}
	c.ack(r, []string{"http"})

	if err := e.cache.Update(noClusters(9090)); err != nil {
		t.Fatal(err)
	}
	c.ack(c.expect(lds), nil)
	c.quiet(100 * time.Millisecond)
}

// A gRPC client names what it wants and subscribes to clusters only once a
// route names them: route updates naming clusters it has not subscribed to
// must reach it, or it would never ask for them.
func TestNamedClientRoutesNotHeldForUnsubscribedClusters(t *testing.T) {
	e := start(t)
	update(t, e, app(100))
	c := e.sotw(t, node("grpc-1", "default", ""))
	c.request(lds, []string{"myapp"}, "")
	c.ack(c.expect(lds), []string{"myapp"})
	c.request(rds, []string{"myapp"}, "")
	c.ack(c.expect(rds), []string{"myapp"})

	// No CDS subscription yet.
	update(t, e, app(90, 10))
	r := c.expect(rds)
	if got := routeClusters(t, r); !slices.Contains(got, "myapp-v2_default") {
		t.Fatalf("route clusters %v", got)
	}
	c.ack(r, []string{"myapp"})

	// Subscribed to v1 only (CDS and EDS, ACKed): v2's arrival is not
	// waited for either.
	update(t, e, app(100))
	c.ack(c.expect(rds), []string{"myapp"})
	c.request(cds, []string{"myapp-v1_default"}, "")
	c.ack(c.expect(cds), []string{"myapp-v1_default"})
	c.request(eds, []string{"myapp-v1_default"}, "")
	c.ack(c.expect(eds), []string{"myapp-v1_default"})
	update(t, e, app(80, 20))
	r = c.expect(rds)
	if got := routeClusters(t, r); !slices.Contains(got, "myapp-v2_default") {
		t.Fatalf("route clusters %v", got)
	}
	c.ack(r, []string{"myapp"})
	c.quiet(100 * time.Millisecond)
}

// A node that never answers the CDS response carrying a new cluster gets
// the routes naming it after the safety valve, not never.
func TestUnansweredCDSHoldsRoutesBoundedly(t *testing.T) {
	e := start(t)
	update(t, e, app(100))
	c := e.sotw(t, node("envoy-1", "default", ""))
	envoyHandshake(t, c)

	update(t, e, app(90, 10))
	sent := time.Now()
	c.expect(cds) // never ACKed
	c.quiet(gateValve - 300*time.Millisecond)
	r := c.expect(rds)
	if el := time.Since(sent); el < gateValve || el > gateValve+time.Second {
		t.Errorf("routes sent %v after the CDS response, want about %v", el, gateValve)
	}
	if got := routeClusters(t, r); !slices.Contains(got, "myapp-v2_default") {
		t.Errorf("route clusters %v", got)
	}
}

// Routes naming a cluster the node rejected stay held, past the safety
// valve: the cluster will not arrive, and the node keeps its last good
// routes meanwhile. They go out once a later CDS version carrying the
// cluster is ACKed.
func TestRejectedClusterHoldsRoutesUntilAccepted(t *testing.T) {
	e := start(t, snapshot.WithDrain(0))
	update(t, e, app(100))
	c := e.sotw(t, node("envoy-1", "default", ""))
	envoyHandshake(t, c)

	update(t, e, app(90, 10))
	r := c.expect(cds)
	both := resourceNames(r.GetResources())
	c.request(eds, both, "")
	c.request(cds, nil, "cluster myapp-v2_default: rejected")
	// The EDS subscription names v2 too, and is answered; the routes that
	// name v2 are not sent, not even after the valve.
	r = c.expect(eds)
	c.ack(r, both)
	c.quiet(gateValve + 500*time.Millisecond)

	// The cluster is fixed: a new CDS version, ACKed, then the routes.
	res := app(90, 10).Resources()
	res.Clusters[1].ConnectTimeout = durationpb.New(2 * time.Second)
	if err := e.cache.Update(st.Default(res)); err != nil {
		t.Fatal(err)
	}
	r = c.expect(cds)
	c.quiet(100 * time.Millisecond)
	c.ack(r, nil)
	r = c.expect(rds)
	if got := routeClusters(t, r); !slices.Contains(got, "myapp-v2_default") {
		t.Errorf("route clusters %v", got)
	}
	c.ack(r, []string{"http"})
	c.quiet(100 * time.Millisecond)
}

// A rejected cluster does not wedge the node: once the routes no longer
// name it, they go out.
func TestRejectedClusterNoLongerRoutedReleasesRoutes(t *testing.T) {
	e := start(t, snapshot.WithDrain(0))
	update(t, e, app(100))
	c := e.sotw(t, node("envoy-1", "default", ""))
	envoyHandshake(t, c)

	update(t, e, app(90, 10))
	r := c.expect(cds)
	both := resourceNames(r.GetResources())
	c.request(eds, both, "")
	c.request(cds, nil, "cluster myapp-v2_default: rejected")
	c.ack(c.expect(eds), both)
	c.quiet(200 * time.Millisecond)

	// v2 is gone, and the routes change (new domain): v1 only.
	res := app(100).Resources()
	res.Routes[0] = st.Route("http", []string{"example.com"}, st.Split{Cluster: "myapp-v1_default", Weight: 100})
	if err := e.cache.Update(st.Default(res)); err != nil {
		t.Fatal(err)
	}
	c.expect(cds) // v1 only, the version the node had
	c.expect(eds) // the subscribed set that exists: v1 only
	r = c.expect(rds)
	if got := routeClusters(t, r); !slices.Equal(got, []string{"myapp-v1_default"}) {
		t.Errorf("route clusters %v", got)
	}
}
