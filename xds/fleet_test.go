package xds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/serin-dev/serin/pkg/tlsfiles"
	"github.com/serin-dev/serin/pkg/tlsfiles/tlstest"
	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

func TestFleetSelection(t *testing.T) {
	e := start(t)
	fleets := map[string]*translator.Resources{
		"default": st.App{Name: "myapp", Weights: []uint32{1}}.Resources(),
		"edge":    st.App{Name: "edge", Weights: []uint32{1}}.Resources(),
	}
	if err := e.cache.Update(st.Output(fleets)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, cluster, role, fleet, cds string
	}{
		{"by-cluster", "edge", "", "edge", "edge-v1_default"},
		{"unknown-cluster", "nope", "", "default", "myapp-v1_default"},
		{"gloo-role", "nope", "gloo-system~edge", "edge", "edge-v1_default"},
		{"whole-role", "edge", "default", "default", "myapp-v1_default"},
		{"role-names-nothing", "edge", "x~y", "edge", "edge-v1_default"},
	}
	clients := map[string]*sotwClient{}
	for _, tc := range tests {
		c := e.sotw(t, node(tc.id, tc.cluster, tc.role))
		c.request(cds, nil, "")
		r := c.expect(cds)
		if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{tc.cds}) {
			t.Errorf("%s: CDS = %v, want %s", tc.id, got, tc.cds)
		}
		c.ack(r, nil)
		clients[tc.id] = c
	}
	fleetOf := map[string]string{}
	for _, n := range e.srv.Nodes() {
		fleetOf[n.ID] = n.Fleet
	}
	for _, tc := range tests {
		if fleetOf[tc.id] != tc.fleet {
			t.Errorf("%s: registry fleet %q, want %q", tc.id, fleetOf[tc.id], tc.fleet)
		}
	}

	// A change to edge wakes only edge's nodes; a new fleet "nope" moves
	// the nodes that asked for it.
	fleets["edge"] = st.App{Name: "edge", Weights: []uint32{1, 1}}.Resources()
	if err := e.cache.Update(st.Output(fleets)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"by-cluster", "gloo-role", "role-names-nothing"} {
		clients[id].ack(clients[id].expect(cds), nil)
	}
	clients["unknown-cluster"].quiet(100 * time.Millisecond)
	clients["whole-role"].quiet(0)

	fleets["nope"] = st.App{Name: "nope", Weights: []uint32{1}}.Resources()
	if err := e.cache.Update(st.Output(fleets)); err != nil {
		t.Fatal(err)
	}
	r := clients["unknown-cluster"].expect(cds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, []string{"nope-v1_default"}) {
		t.Errorf("moved node CDS = %v", got)
	}
	// gloo-role's role "gloo-system~edge" still wins over its cluster "nope".
	clients["gloo-role"].quiet(100 * time.Millisecond)
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"spiffe://cluster.local/ns/edge/*", "spiffe://cluster.local/ns/edge/sa/envoy", true},
		{"spiffe://cluster.local/ns/edge/*", "spiffe://cluster.local/ns/edgy/sa/envoy", false},
		{"spiffe://cluster.local/ns/*/sa/envoy", "spiffe://cluster.local/ns/a/b/sa/envoy", true},
		{"*.edge.svc", "envoy.edge.svc", true},
		{"*.edge.svc", "edge.svc", false},
		{"envoy-?", "envoy-1", true},
		{"envoy-?", "envoy-12", false},
		{"*", "", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	} {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestParseFleetAccess(t *testing.T) {
	if a, err := ParseFleetAccess(nil); a != nil || err != nil {
		t.Errorf("no rules: %v, %v; want no authorization", a, err)
	}
	for _, bad := range []string{"edge", "=spiffe://x", "edge="} {
		if _, err := ParseFleetAccess([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	a, err := ParseFleetAccess([]string{"edge=spiffe://td/ns/edge/*", "edge=envoy.edge", "default=*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fleet string
		ids   []string
		want  bool
	}{
		{"edge", []string{"spiffe://td/ns/edge/sa/envoy"}, true},
		{"edge", []string{"envoy.edge"}, true},
		{"edge", []string{"spiffe://td/ns/web/sa/envoy"}, false},
		{"default", []string{"spiffe://td/ns/web/sa/envoy"}, true},
		{"default", nil, false},                                     // no certificate, no identity: even "*" needs one
		{"canary", []string{"spiffe://td/ns/edge/sa/envoy"}, false}, // no rule: closed
	} {
		if got := a.Allows(tc.fleet, tc.ids); got != tc.want {
			t.Errorf("Allows(%s, %v) = %v, want %v", tc.fleet, tc.ids, got, tc.want)
		}
	}
}

// startMTLS is start with mTLS and fleet access. as returns the env as
// seen by a client presenting pair (nil: no certificate).
func startMTLS(t *testing.T, rules ...string) (e *env, ca *tlstest.CA, as func(pair *tlstest.Pair) *env) {
	t.Helper()
	ca = tlstest.NewCA(t, "xds")
	srvPair := ca.Server(t, "serin")
	r, err := tlsfiles.New(tlsfiles.Files{Cert: srvPair.Cert, Key: srvPair.Key, ClientCA: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	access, err := ParseFleetAccess(rules)
	if err != nil {
		t.Fatal(err)
	}
	e = &env{cache: snapshot.NewCache(), reg: prometheus.NewRegistry(), nacks: make(chan Nack, 16)}
	if e.srv, err = New(e.cache, WithRegisterer(e.reg), WithFleetAccess(access)); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer(grpc.Creds(credentials.NewTLS(r.ServerConfig())))
	e.srv.Register(gs)
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(lis) }()
	t.Cleanup(func() {
		e.srv.Stop()
		gs.GracefulStop()
		<-served
		e.cache.Close()
	})
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(ca.File)
	roots.AppendCertsFromPEM(pem)
	as = func(pair *tlstest.Pair) *env {
		cfg := &tls.Config{RootCAs: roots}
		if pair != nil {
			c, err := tls.LoadX509KeyPair(pair.Cert, pair.Key)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{c}
		}
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := *e
		c.conn = conn
		return &c
	}
	return e, ca, as
}

// refused waits for c's stream to end with PermissionDenied, having
// received nothing.
func (c *sotwClient) refused() {
	c.t.Helper()
	select {
	case err := <-c.errc:
		if status.Code(err) != codes.PermissionDenied {
			c.t.Fatalf("%s: stream ended with %v, want PermissionDenied", c.node.GetId(), err)
		}
	case r := <-c.resps:
		c.t.Fatalf("%s: got %s, want PermissionDenied", c.node.GetId(), short(r.GetTypeUrl()))
	case <-time.After(5 * time.Second):
		c.t.Fatalf("%s: not refused", c.node.GetId())
	}
}

// TestFleetAccess: over mTLS, a node reads only the fleets its SPIFFE ID
// allows, in SotW, delta and LRS; a node that moves to a fleet it may not
// read (the fleet it named appears) is cut off.
func TestFleetAccess(t *testing.T) {
	e, ca, as := startMTLS(t,
		"edge=spiffe://cluster.local/ns/edge/*",
		"default=spiffe://cluster.local/ns/web/*")
	fleets := map[string]*translator.Resources{
		"default": st.App{Name: "myapp", Weights: []uint32{1}}.Resources(),
		"edge":    st.App{Name: "edge", Weights: []uint32{1}}.Resources(),
	}
	if err := e.cache.Update(st.Output(fleets)); err != nil {
		t.Fatal(err)
	}
	edgeCert := ca.Client(t, "edge", []string{"spiffe://cluster.local/ns/edge/sa/envoy"})
	webCert := ca.Client(t, "web", []string{"spiffe://cluster.local/ns/web/sa/envoy"})
	edge, web := as(&edgeCert), as(&webCert)

	ok := edge.sotw(t, node("edge-1", "edge", ""))
	ok.request(cds, nil, "")
	if got := resourceNames(ok.expect(cds).GetResources()); !slices.Equal(got, []string{"edge-v1_default"}) {
		t.Errorf("edge node CDS = %v", got)
	}

	bad := edge.sotw(t, node("edge-as-default", "default", ""))
	bad.request(cds, nil, "")
	bad.refused()
	// Naming a fleet that does not exist lands on default: refused too.
	bad = edge.sotw(t, node("edge-as-nothing", "nope", ""))
	bad.request(cds, nil, "")
	bad.refused()

	// Delta is checked the same way.
	ds, err := discoveryv3.NewAggregatedDiscoveryServiceClient(edge.conn).DeltaAggregatedResources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node("edge-delta", "default", ""), TypeUrl: cds}); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("delta edge node asking for default: %v, want PermissionDenied", err)
	}

	// LRS: a report counted for a fleet the node may not read is refused.
	ls, err := lrsv3.NewLoadReportingServiceClient(edge.conn).StreamLoadStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Send(&lrsv3.LoadStatsRequest{Node: node("edge-lrs", "default", "")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("LRS edge node reporting for default: %v, want PermissionDenied", err)
	}

	// A web node naming "canary" gets default while canary does not exist,
	// and is cut off when canary (which has no rule) appears.
	mover := web.sotw(t, node("web-mover", "canary", ""))
	mover.request(cds, nil, "")
	mover.ack(mover.expect(cds), nil)
	fleets["canary"] = st.App{Name: "canary", Weights: []uint32{1}}.Resources()
	if err := e.cache.Update(st.Output(fleets)); err != nil {
		t.Fatal(err)
	}
	mover.refused()

	// No client certificate: the TLS handshake fails, nothing is served.
	anon := as(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ads, err := discoveryv3.NewAggregatedDiscoveryServiceClient(anon.conn).StreamAggregatedResources(ctx); err == nil {
		_ = ads.Send(&discoveryv3.DiscoveryRequest{Node: node("anon", "default", ""), TypeUrl: cds})
		if _, err := ads.Recv(); status.Code(err) != codes.Unavailable {
			t.Errorf("no client certificate: %v, want Unavailable (handshake refused)", err)
		}
	}

	if got := counterValue(e.srv.denied.WithLabelValues("sotw", "default")); got != 2 {
		t.Errorf("denied{sotw,default} = %v, want 2", got)
	}
	if got := counterValue(e.srv.denied.WithLabelValues("sotw", "canary")); got != 1 {
		t.Errorf("denied{sotw,canary} = %v, want 1", got)
	}
}
