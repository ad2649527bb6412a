package translator

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

const irInput = `
apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: v1}
spec: {connectTimeout: 2s, static: {hosts: [{addr: 10.0.0.2, port: 80, zone: b}, {addr: 10.0.0.1, port: 80, zone: a, weight: 4}]}}
---
apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: v2}
spec: {static: {hosts: [{addr: 10.0.0.3, port: 80}]}}
---
apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata: {name: g}
spec:
  destinations:
  - {destination: {upstream: {name: v1}}, weight: 90}
  - {destination: {upstream: {name: v2}}, weight: 10}
---
apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: app}
spec:
  virtualHost:
    domains: [app, "*.app.example.com"]
    routes:
    - matchers: [{prefix: /gone}]
      routeAction: {upstreamGroup: {name: missing}}
    - routeAction: {upstreamGroup: {name: g}}
      options: {timeout: 3s, shadowing: {upstream: {name: v2}, percentage: 12.3456}}
`

// The IR is the seam: resolved references, defaults, per-mille mirrors,
// 503s for missing targets, API listeners for plain domains only.
func TestBuildIR(t *testing.T) {
	in, opts, err := decodeInput([]byte(irInput))
	if err != nil {
		t.Fatal(err)
	}
	ir, reports := BuildIR(in, opts)
	if len(reports) != 4 {
		t.Fatalf("got %d reports, want 4", len(reports))
	}
	if len(ir.Fleets) != 1 || ir.Fleets[0].Name != "default" {
		t.Fatalf("fleets = %+v", ir.Fleets)
	}
	f := ir.Fleets[0]
	if len(f.Clusters) != 2 || f.Clusters[0].Name != "v1_default" || f.Clusters[1].Name != "v2_default" {
		t.Fatalf("clusters = %+v", f.Clusters)
	}
	v1 := f.Clusters[0]
	if v1.ConnectTimeout != 2*time.Second || f.Clusters[1].ConnectTimeout != 5*time.Second {
		t.Errorf("connect timeouts %v, %v", v1.ConnectTimeout, f.Clusters[1].ConnectTimeout)
	}
	wantLoc := []Locality{
		{Region: "default", Zone: "a", Weight: 4, Endpoints: []LbEndpoint{{Address: "10.0.0.1", Port: 80, Weight: 4}}},
		{Region: "default", Zone: "b", Weight: 1, Endpoints: []LbEndpoint{{Address: "10.0.0.2", Port: 80, Weight: 1}}},
	}
	if !reflect.DeepEqual(v1.Localities, wantLoc) {
		t.Errorf("localities = %+v", v1.Localities)
	}
	if len(f.Listeners) != 1 || f.Listeners[0].Name != "gateway-proxy_default" || f.Listeners[0].Port != 8080 || f.Listeners[0].Address != "::" {
		t.Fatalf("listeners = %+v", f.Listeners)
	}
	if len(f.VirtualHosts) != 1 {
		t.Fatalf("virtual hosts = %+v", f.VirtualHosts)
	}
	vh := f.VirtualHosts[0]
	if vh.Name != "app_default" || !reflect.DeepEqual(vh.APIListeners, []string{"app"}) {
		t.Errorf("virtual host %q with API listeners %v", vh.Name, vh.APIListeners)
	}
	gone, split := vh.Routes[0], vh.Routes[1]
	if gone.Direct == nil || gone.Direct.Status != 503 || gone.Direct.Body != "UpstreamGroup default/missing not found\n" {
		t.Errorf("missing group route = %+v", gone.Direct)
	}
	if !split.Weighted || !reflect.DeepEqual(split.Clusters, []WeightedCluster{{"v1_default", 90}, {"v2_default", 10}}) {
		t.Errorf("split = %+v", split.Clusters)
	}
	if !reflect.DeepEqual(split.Mirrors, []Mirror{{Cluster: "v2_default", PerMillion: 123456}}) {
		t.Errorf("mirrors = %+v", split.Mirrors)
	}
	if split.Timeout == nil || *split.Timeout != 3*time.Second {
		t.Errorf("timeout = %v", split.Timeout)
	}
	wantOrigins := []ident.Ref{{Kind: "VirtualService", Namespace: "default", Name: "app"}, {Kind: "UpstreamGroup", Namespace: "default", Name: "g"}}
	if !reflect.DeepEqual(vh.Origins, wantOrigins) {
		t.Errorf("origins = %+v", vh.Origins)
	}
}

// Emit needs nothing but the IR: a hand-built one gives valid resources.
func TestEmitHandBuiltIR(t *testing.T) {
	c := &Cluster{Name: "x_ns", Upstream: ident.Ref{Kind: "Upstream", Namespace: "ns", Name: "x"}, HTTP2: true,
		Localities: []Locality{{Region: "r", Zone: "z", Weight: 2, Endpoints: []LbEndpoint{{"10.1.1.1", 9000, 2}}}}}
	vh := &VirtualHost{Name: "v_ns", Domains: []string{"x.example.com", "*.x"}, APIListeners: []string{"x.example.com"},
		Origins: []ident.Ref{{Kind: "VirtualService", Namespace: "ns", Name: "v"}},
		Routes: []*Route{
			{Matches: []Match{{PathKind: PathExact, Path: "/a", Methods: []string{"GET", "HEAD"}}}, Clusters: []WeightedCluster{{"x_ns", 1}}},
			{Matches: []Match{{PathKind: PathPrefix, Path: "/"}}, Direct: &DirectResponse{Status: 503, Body: "no\n"}},
		}}
	ir := &IR{Fleets: []*Fleet{{
		Name:         "default",
		Listeners:    []*Listener{{Name: "gw_ns", Address: "0.0.0.0", Port: 80, Gateway: ident.Ref{Kind: "Gateway", Namespace: "ns", Name: "gw"}, VirtualHosts: []*VirtualHost{vh}}},
		VirtualHosts: []*VirtualHost{vh},
		Clusters:     []*Cluster{c},
	}}}
	out := &Output{Fleets: Emit(ir)}
	for _, e := range checkOutput(out) {
		t.Error(e)
	}
	r := out.Fleets["default"]
	if len(r.Clusters) != 1 || len(r.Endpoints) != 1 || len(r.Listeners) != 1 || len(r.APIListeners) != 1 || len(r.Routes) != 2 {
		t.Fatalf("resources: %d clusters, %d endpoints, %d listeners, %d api listeners, %d routes",
			len(r.Clusters), len(r.Endpoints), len(r.Listeners), len(r.APIListeners), len(r.Routes))
	}
	if got := r.Routes[1].VirtualHosts[0].Routes[0].Match.Headers[0].GetStringMatch().GetSafeRegex().GetRegex(); got != "^(GET|HEAD)$" {
		t.Errorf("method regex = %q", got)
	}
	if r.Listeners[0].Address.GetSocketAddress().Ipv4Compat {
		t.Error("ipv4_compat set on 0.0.0.0")
	}
	if _, ok := r.Clusters[0].TypedExtensionProtocolOptions[httpProtocolOptionsName]; !ok {
		t.Error("HTTP/2 cluster without HttpProtocolOptions")
	}
}

func TestPerMillion(t *testing.T) {
	for pct, want := range map[float64]uint32{0: 0, -1: 0, 0.0001: 1, 12.3456: 123456, 10: 100000, 99.99995: 1000000, 100: 1000000, 250: 1000000} {
		if got := perMillion(pct); got != want {
			t.Errorf("perMillion(%v) = %d, want %d", pct, got, want)
		}
	}
}

// InputFrom reads objects and turns active canary states into overrides.
func TestInputFrom(t *testing.T) {
	in, _, err := decodeInput([]byte(irInput))
	if err != nil {
		t.Fatal(err)
	}
	var entries []store.Entry
	for _, u := range in.Upstreams {
		entries = append(entries, store.Entry{Obj: u.Obj})
	}
	for _, g := range in.UpstreamGroups {
		entries = append(entries, store.Entry{Obj: g.Obj})
	}
	for _, v := range in.VirtualServices {
		entries = append(entries, store.Entry{Obj: v.Obj})
	}
	st := store.New()
	if _, err := st.ReplaceSource("test", entries); err != nil {
		t.Fatal(err)
	}
	mirror := &v1alpha1.Mirror{Upstream: v1alpha1.ResourceRef{Name: "v2"}, Percentage: 5}
	err = st.Update(func(tx *store.WriteTxn) error {
		return tx.PutCanaryState(&store.CanaryState{ID: "default/c1", GroupID: "default/g",
			Weights: map[string]uint32{"default/v1": 50, "default/v2": 50}, Mirror: mirror})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := InputFrom(st.Read())
	if len(got.Upstreams) != 2 || len(got.UpstreamGroups) != 1 || len(got.VirtualServices) != 1 {
		t.Fatalf("input: %d upstreams, %d groups, %d virtual services", len(got.Upstreams), len(got.UpstreamGroups), len(got.VirtualServices))
	}
	key := func(name string) ident.Key { return ident.NewKey("default", name) }
	want := map[ident.Key]GroupOverride{key("g"): {Canary: key("c1"), Weights: map[ident.Key]uint32{key("v1"): 50, key("v2"): 50}, Mirror: mirror}}
	if !reflect.DeepEqual(got.Overrides, want) {
		t.Errorf("overrides = %+v", got.Overrides)
	}
	out := Translate(got, Options{})
	split := out.Fleets["default"].Routes[0].VirtualHosts[0].Routes[1].GetRoute()
	if w := split.GetWeightedClusters().GetClusters(); len(w) != 2 || w[0].Weight.GetValue() != 50 || w[1].Weight.GetValue() != 50 {
		t.Errorf("weighted clusters = %v", w)
	}
	if m := split.GetRequestMirrorPolicies(); len(m) != 2 || m[1].Cluster != "v2_default" || m[1].RuntimeFraction.DefaultValue.Numerator != 50000 {
		t.Errorf("mirrors = %v", m)
	}
}

// InputFrom: when two canaries drive one group, the oldest claim's weights
// are the override, whatever the names (the report rejects the other).
func TestInputFromOldestClaim(t *testing.T) {
	at := func(h int) metav1.Time { return metav1.NewTime(time.Date(2026, 11, 29, h, 0, 0, 0, time.UTC)) }
	canary := func(name string, since metav1.Time) store.Entry {
		return store.Entry{Obj: &v1alpha1.Canary{
			TypeMeta:   metav1.TypeMeta{Kind: v1alpha1.KindCanary, APIVersion: "serin.dev/v1alpha1"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: since},
			Spec:       v1alpha1.CanarySpec{UpstreamGroup: v1alpha1.ResourceRef{Name: "g"}},
		}}
	}
	for _, tc := range []struct {
		name    string
		entries []store.Entry
		want    string
	}{
		{"older time beats the first name", []store.Entry{canary("a", at(10)), canary("b", at(9))}, "default/b"},
		{"same time: the first name", []store.Entry{canary("a", at(9)), canary("b", at(9))}, "default/a"},
		{"a time beats none", []store.Entry{canary("a", metav1.Time{}), canary("b", at(9))}, "default/b"},
		{"a Canary beats a state whose Canary is gone", []store.Entry{canary("b", at(9))}, "default/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := store.New()
			if _, err := st.ReplaceSource("test", tc.entries); err != nil {
				t.Fatal(err)
			}
			err := st.Update(func(tx *store.WriteTxn) error {
				for _, id := range []string{"default/a", "default/b"} {
					if err := tx.PutCanaryState(&store.CanaryState{ID: id, GroupID: "default/g",
						Weights: map[string]uint32{id: 100}}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := InputFrom(st.Read()).Overrides[ident.NewKey("default", "g")]
			if got.Canary.String() != tc.want {
				t.Errorf("override of %s, want %s", got.Canary, tc.want)
			}
		})
	}
}
