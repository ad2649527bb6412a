package e2e

import (
	"context"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/serin-dev/serin/pkg/adsclient"
)

// adsConnect opens an Envoy-like ADS stream to serin.
func adsConnect(t testing.TB, s *serin, cfg adsclient.Config) *adsclient.Client {
	t.Helper()
	conn, err := grpc.NewClient(s.xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := adsclient.Start(context.Background(), conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c
}

func envoyNode(id, cluster string) *corev3.Node { return &corev3.Node{Id: id, Cluster: cluster} }

// complete says the client holds every type, and an endpoint assignment
// and route configuration for everything it subscribed to.
func complete(c *adsclient.Client) bool {
	for _, t := range adsclient.Types {
		if c.Version(t) == "" {
			return false
		}
	}
	return len(c.Names(adsclient.RouteType)) > 0 && len(c.Names(adsclient.EndpointType)) == len(c.Names(adsclient.ClusterType))
}

func waitClient(t testing.TB, c *adsclient.Client, what string, cond func(*adsclient.Client) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// routeWeights returns cluster -> weight of the first weighted route in
// the route configuration that serves domain.
func routeWeights(c *adsclient.Client, domain string) map[string]uint32 {
	for _, m := range c.Resources(adsclient.RouteType) {
		for _, vh := range m.(*routev3.RouteConfiguration).GetVirtualHosts() {
			if !containsString(vh.GetDomains(), domain) {
				continue
			}
			for _, r := range vh.GetRoutes() {
				if wc := r.GetRoute().GetWeightedClusters(); wc != nil {
					out := map[string]uint32{}
					for _, cw := range wc.GetClusters() {
						out[cw.GetName()] = cw.GetWeight().GetValue()
					}
					return out
				}
			}
		}
	}
	return nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestServedResourcesAreValid checks, as Envoy would receive them, every
// resource serin serves for the canary example: valid per Envoy's proto
// rules, weights and mirror fraction as in the YAML, and no route naming a
// cluster that is not served.
func TestServedResourcesAreValid(t *testing.T) {
	for _, delta := range []bool{false, true} {
		name := map[bool]string{false: "sotw", true: "delta"}[delta]
		t.Run(name, func(t *testing.T) {
			s := startSerin(t, canaryDir(t, 9001, 9002))
			c := adsConnect(t, s, adsclient.Config{Node: envoyNode("envoy-"+name, "default"), Delta: delta, Decode: true})
			waitClient(t, c, "a complete configuration", complete)

			for _, typ := range adsclient.Types {
				for n, m := range c.Resources(typ) {
					v, ok := m.(interface{ ValidateAll() error })
					if !ok {
						t.Fatalf("%s %s has no ValidateAll", typ, n)
					}
					if err := v.ValidateAll(); err != nil {
						t.Errorf("%s %s: %v", typ, n, err)
					}
				}
			}
			clusters := c.Resources(adsclient.ClusterType)
			for name, m := range clusters {
				if m.(*clusterv3.Cluster).GetType() != clusterv3.Cluster_EDS {
					t.Errorf("cluster %s is not EDS", name)
				}
			}
			for _, n := range c.Names(adsclient.ClusterType) {
				if !containsString(c.Names(adsclient.EndpointType), n) {
					t.Errorf("cluster %s has no endpoint assignment", n)
				}
			}
			// Envoy's wildcard LDS gets the socket listener, never the
			// API listeners proxyless gRPC asks for by name.
			for _, n := range c.Names(adsclient.ListenerType) {
				if n == "myapp" || n == "myapp.example.com" {
					t.Errorf("wildcard LDS returned API listener %q", n)
				}
			}

			w := routeWeights(c, "myapp")
			if w["myapp-v1_default"] != 90 || w["myapp-v2_default"] != 10 || len(w) != 2 {
				t.Errorf("weights = %v, want myapp-v1_default=90 myapp-v2_default=10", w)
			}
			mirrors := 0
			for _, m := range c.Resources(adsclient.RouteType) {
				for _, vh := range m.(*routev3.RouteConfiguration).GetVirtualHosts() {
					for _, r := range vh.GetRoutes() {
						for _, name := range routeClusters(r) {
							if _, ok := clusters[name]; !ok {
								t.Errorf("route %q names unserved cluster %q", r.GetName(), name)
							}
						}
						for _, mp := range r.GetRoute().GetRequestMirrorPolicies() {
							mirrors++
							f := mp.GetRuntimeFraction().GetDefaultValue()
							if mp.GetCluster() != "myapp-v2_default" || f.GetNumerator() != 100000 || f.GetDenominator().String() != "MILLION" {
								t.Errorf("mirror = %v, want myapp-v2_default at 100000/MILLION", mp)
							}
						}
					}
				}
			}
			if mirrors == 0 {
				t.Error("no request_mirror_policies served; the example mirrors 10% to myapp-v2")
			}
		})
	}
}

// routeClusters lists the clusters a route sends to or mirrors to.
func routeClusters(r *routev3.Route) []string {
	var out []string
	a := r.GetRoute()
	if a == nil {
		return nil
	}
	if c := a.GetCluster(); c != "" {
		out = append(out, c)
	}
	for _, cw := range a.GetWeightedClusters().GetClusters() {
		out = append(out, cw.GetName())
	}
	for _, m := range a.GetRequestMirrorPolicies() {
		out = append(out, m.GetCluster())
	}
	return out
}

// TestWeightChangeSendsOnlyRDS: a weight edit re-sends the route
// configuration and nothing else.
func TestWeightChangeSendsOnlyRDS(t *testing.T) {
	dir := canaryDir(t, 9001, 9002)
	s := startSerin(t, dir)
	c := adsConnect(t, s, adsclient.Config{Node: envoyNode("envoy-1", "default"), Decode: true})
	waitClient(t, c, "a complete configuration", complete)
	before := map[string]int{}
	for _, typ := range adsclient.Types {
		before[typ], _ = c.Stats(typ)
	}
	writeGroup(t, dir, 50, 50)
	waitClient(t, c, "50/50 weights", func(c *adsclient.Client) bool {
		return routeWeights(c, "myapp")["myapp-v2_default"] == 50
	})
	time.Sleep(300 * time.Millisecond) // anything else would have come by now
	for _, typ := range adsclient.Types {
		n, _ := c.Stats(typ)
		want := before[typ]
		if typ == adsclient.RouteType {
			want++
		}
		if n != want {
			t.Errorf("%s: %d responses after the weight change, want %d", typ, n-before[typ], want-before[typ])
		}
	}
}

// directResponse returns the status of the first direct-response route for
// domain, or 0.
func directResponse(c *adsclient.Client, domain string) uint32 {
	for _, m := range c.Resources(adsclient.RouteType) {
		for _, vh := range m.(*routev3.RouteConfiguration).GetVirtualHosts() {
			if !containsString(vh.GetDomains(), domain) {
				continue
			}
			for _, r := range vh.GetRoutes() {
				if d := r.GetDirectResponse(); d != nil {
					return d.GetStatus()
				}
			}
		}
	}
	return 0
}
