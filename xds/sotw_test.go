package xds

import (
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/envoyrefs"
	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
)

const (
	cds = snapshot.ClusterType
	eds = snapshot.EndpointType
	lds = snapshot.ListenerType
	rds = snapshot.RouteType
)

func app(weights ...uint32) st.App { return st.App{Name: "myapp", Weights: weights} }

func update(t *testing.T, e *env, a st.App) {
	t.Helper()
	if err := e.cache.Update(st.Default(a.Resources())); err != nil {
		t.Fatal(err)
	}
}

// routeClusters decodes an RDS response and lists the clusters its routes name.
func routeClusters(t *testing.T, r *discoveryv3.DiscoveryResponse) []string {
	t.Helper()
	var out []string
	for _, a := range r.GetResources() {
		rc := &routev3.RouteConfiguration{}
		if err := a.UnmarshalTo(rc); err != nil {
			t.Fatal(err)
		}
		out = append(out, envoyrefs.RouteClusters(rc)...)
	}
	return out
}

// envoyHandshake plays Envoy's startup: wildcard CDS and LDS, then EDS and
// RDS by name, ACKing each; it checks CDS -> EDS -> LDS -> RDS order and that
// no route names a cluster the node does not have.
func envoyHandshake(t *testing.T, c *sotwClient) (clusters []string) {
	t.Helper()
	c.request(cds, nil, "")
	c.request(lds, nil, "")
	r := c.expect(cds)
	clusters = resourceNames(r.GetResources())
	c.request(eds, clusters, "")
	c.ack(r, nil)
	r = c.expect(eds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, clusters) {
		t.Errorf("EDS = %v, want %v", got, clusters)
	}
	c.ack(r, clusters)
	r = c.expect(lds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{"http"}) {
		t.Errorf("wildcard LDS = %v, want the socket listener only", got)
	}
	c.request(rds, []string{"http"}, "")
	c.ack(r, nil)
	r = c.expect(rds)
	for _, name := range routeClusters(t, r) {
		if !slices.Contains(clusters, name) {
			t.Errorf("route names cluster %q the node was not sent", name)
		}
	}
	c.ack(r, []string{"http"})
	return clusters
}

func TestEnvoySotW(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("envoy-1", "default", ""))
	clusters := envoyHandshake(t, c)
	if !slices.Equal(clusters, []string{"myapp-v1_default", "myapp-v2_default"}) {
		t.Fatalf("clusters = %v", clusters)
	}
	c.quiet(200 * time.Millisecond)

	// A weight change sends RDS only.
	update(t, e, app(50, 50))
	r := c.expect(rds)
	c.ack(r, []string{"http"})
	c.quiet(300 * time.Millisecond)

	ns := e.srv.Nodes()
	if len(ns) != 1 || ns[0].ID != "envoy-1" || ns[0].Protocol != "sotw" || len(ns[0].Types) != 4 {
		t.Fatalf("nodes = %+v", ns)
	}
	for _, ts := range ns[0].Types {
		if ts.AckedVersion == "" || ts.AckedVersion != ts.SentVersion {
			t.Errorf("%s: acked %q, sent %q", ts.Type, ts.AckedVersion, ts.SentVersion)
		}
	}
	if !ns[0].Types[0].Wildcard || ns[0].Types[1].Subscribed != 2 {
		t.Errorf("subscriptions = %+v", ns[0].Types)
	}
}

// A new cluster reaches CDS (and is ACKed, EDS too) before the route naming
// it; a removed cluster outlives the routes naming it by the drain period.
func TestMakeBeforeBreakSotW(t *testing.T) {
	e := start(t, snapshot.WithDrain(200*time.Millisecond))
	update(t, e, app(100))
	c := e.sotw(t, node("envoy-1", "default", ""))
	envoyHandshake(t, c)

	update(t, e, app(90, 10))
	r := c.expect(cds)
	clusters := resourceNames(r.GetResources())
	c.quiet(100 * time.Millisecond) // routes wait for the CDS ACK
	c.request(eds, clusters, "")
	c.ack(r, nil)
	r = c.expect(eds)
	c.ack(r, clusters)
	r = c.expect(rds)
	if got := routeClusters(t, r); !slices.Contains(got, "myapp-v2_default") {
		t.Fatalf("route clusters %v", got)
	}
	c.ack(r, []string{"http"})

	removed := time.Now()
	update(t, e, app(100))
	r = c.expect(rds)
	if slices.Contains(routeClusters(t, r), "myapp-v2_default") {
		t.Fatal("route still names the removed cluster")
	}
	c.ack(r, []string{"http"})
	r = c.expect(cds)
	if el := time.Since(removed); el < 150*time.Millisecond {
		t.Errorf("cluster removed %v after the routes, before the drain", el)
	}
	if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{"myapp-v1_default"}) {
		t.Errorf("CDS after drain = %v", got)
	}
	c.ack(r, nil)
	r = c.expect(eds) // full requested set that exists: v1 only
	if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{"myapp-v1_default"}) {
		t.Errorf("EDS after drain = %v", got)
	}
}

// gRPC names what it wants; every response carries the full requested set
// that exists, and changes to resources it did not ask for send nothing.
func TestGRPCNamedSubscriptions(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("grpc-1", "default", ""))
	c.request(lds, []string{"myapp"}, "")
	r := c.expect(lds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{"myapp"}) {
		t.Fatalf("LDS = %v, want the API listener", got)
	}
	c.ack(r, []string{"myapp"})
	c.request(rds, []string{"myapp"}, "")
	r = c.expect(rds)
	c.ack(r, []string{"myapp"})
	c.request(cds, []string{"myapp-v1_default"}, "")
	r = c.expect(cds)
	c.ack(r, []string{"myapp-v1_default"})
	both := []string{"myapp-v1_default", "myapp-v2_default"}
	c.request(cds, both, "")
	r = c.expect(cds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, both) {
		t.Fatalf("CDS = %v, want the full requested set %v", got, both)
	}
	c.ack(r, both)
	c.request(eds, []string{"myapp-v1_default"}, "")
	r = c.expect(eds)
	c.ack(r, []string{"myapp-v1_default"})
	c.quiet(100 * time.Millisecond)

	// v2's endpoints change: not subscribed over EDS, nothing is sent.
	res := app(90, 10).Resources()
	res.Endpoints[1] = st.Endpoints("myapp-v2_default", "127.0.0.1:9999")
	if err := e.cache.Update(st.Default(res)); err != nil {
		t.Fatal(err)
	}
	c.quiet(200 * time.Millisecond)

	// v1's cluster changes: CDS carries both subscribed clusters again.
	res = app(90, 10).Resources()
	res.Clusters[0].ConnectTimeout = durationpb.New(3 * time.Second)
	if err := e.cache.Update(st.Default(res)); err != nil {
		t.Fatal(err)
	}
	r = c.expect(cds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, both) {
		t.Fatalf("CDS = %v, want %v", got, both)
	}
	cl := &clusterv3.Cluster{}
	if err := r.GetResources()[0].UnmarshalTo(cl); err != nil || cl.GetConnectTimeout().AsDuration() != 3*time.Second {
		t.Errorf("cluster not updated: %v %v", cl, err)
	}
	c.ack(r, both)
	c.quiet(200 * time.Millisecond)
}
