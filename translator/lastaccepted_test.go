package translator_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

var acceptedAt = time.Date(2026, 11, 29, 17, 50, 2, 0, time.UTC)

// laWorld is pay: two upstreams, a 90/10 group, a VirtualService on it,
// a Gateway and a Canary; every object at revision 1.
type laWorld struct {
	v1, v2 *v1alpha1.Upstream
	g      *v1alpha1.UpstreamGroup
	vs     *v1alpha1.VirtualService
	gw     *v1alpha1.Gateway
	cn     *v1alpha1.Canary
}

func newLAWorld() *laWorld {
	m := func(n string, gen int64) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: n, Namespace: "default", Generation: gen}
	}
	static := func(addr string) v1alpha1.UpstreamSpec {
		return v1alpha1.UpstreamSpec{Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: addr, Port: 8080}}}}
	}
	g := ref("pay")
	return &laWorld{
		v1: &v1alpha1.Upstream{ObjectMeta: m("pay-v1", 1), Spec: static("10.0.0.1")},
		v2: &v1alpha1.Upstream{ObjectMeta: m("pay-v2", 1), Spec: static("10.0.0.2")},
		g: &v1alpha1.UpstreamGroup{ObjectMeta: m("pay", 3), Spec: v1alpha1.UpstreamGroupSpec{Destinations: []v1alpha1.WeightedDestination{
			{Destination: v1alpha1.Destination{Upstream: ref("pay-v1")}, Weight: 90},
			{Destination: v1alpha1.Destination{Upstream: ref("pay-v2")}, Weight: 10},
		}}},
		vs: &v1alpha1.VirtualService{ObjectMeta: m("pay", 2), Spec: v1alpha1.VirtualServiceSpec{VirtualHost: v1alpha1.VirtualHost{
			Domains: []string{"pay"},
			Routes:  []v1alpha1.Route{{RouteAction: &v1alpha1.RouteAction{UpstreamGroup: &g}}},
		}}},
		gw: &v1alpha1.Gateway{ObjectMeta: m("gw", 1), Spec: v1alpha1.GatewaySpec{BindPort: 9000}},
		cn: &v1alpha1.Canary{ObjectMeta: m("pay", 4), Spec: v1alpha1.CanarySpec{
			UpstreamGroup: g, Stable: ref("pay-v1"), Canary: ref("pay-v2"), Steps: []v1alpha1.CanaryStep{{Weight: 10}},
		}},
	}
}

// input is the world with every object at revision rev.
func (w *laWorld) input(rev uint64) *translator.Input {
	in := &translator.Input{
		Upstreams:       []translator.Object[*v1alpha1.Upstream]{{Obj: w.v1, Rev: rev}, {Obj: w.v2, Rev: rev}},
		UpstreamGroups:  []translator.Object[*v1alpha1.UpstreamGroup]{{Obj: w.g, Rev: rev}},
		VirtualServices: []translator.Object[*v1alpha1.VirtualService]{{Obj: w.vs, Rev: rev}},
		Gateways:        []translator.Object[*v1alpha1.Gateway]{{Obj: w.gw, Rev: rev}},
		Canaries:        []translator.Object[*v1alpha1.Canary]{{Obj: w.cn, Rev: rev}},
	}
	if w.v1 == nil {
		in.Upstreams = in.Upstreams[1:]
	}
	return in
}

func reportOf(t *testing.T, out *translator.Output, kind, name string) translator.Report {
	t.Helper()
	for _, r := range out.Reports {
		if r.Kind == kind && r.Name == name {
			return r
		}
	}
	t.Fatalf("no report for %s %s", kind, name)
	return translator.Report{}
}

// payAction is the action of the pay virtual host's first route in the
// gateway's route configuration.
func payAction(t *testing.T, out *translator.Output) *routev3.Route {
	t.Helper()
	for _, rc := range out.Fleets["default"].Routes {
		for _, vh := range rc.VirtualHosts {
			if vh.Name == "pay_default" && len(vh.Routes) > 0 {
				return vh.Routes[0]
			}
		}
	}
	t.Fatal("no route for pay")
	return nil
}

func weightsOf(r *routev3.Route) map[string]uint32 {
	wc := r.GetRoute().GetWeightedClusters()
	if wc == nil {
		return nil
	}
	out := map[string]uint32{}
	for _, c := range wc.Clusters {
		out[c.Name] = c.Weight.GetValue()
	}
	return out
}

func is9010(r *routev3.Route) bool {
	w := weightsOf(r)
	return len(w) == 2 && w["pay-v1_default"] == 90 && w["pay-v2_default"] == 10
}

// serves checks a Rejected report that serves the accepted version.
func serves(t *testing.T, r translator.Report, gen int64) {
	t.Helper()
	if r.State != v1alpha1.StateRejected {
		t.Errorf("%s: state %s, want Rejected", r.Ref, r.State)
	}
	want := translator.Served{Rev: 1, Generation: gen, At: acceptedAt}
	if r.Serving == nil || *r.Serving != want {
		t.Errorf("%s: serving %+v, want %+v", r.Ref, r.Serving, want)
	}
	suffix := "; serving the version accepted at 2026-11-29T17:50:02Z instead"
	if gen != 0 {
		suffix = "; serving the version accepted at 2026-11-29T17:50:02Z (generation " + strconv.FormatInt(gen, 10) + ") instead"
	}
	if !strings.HasSuffix(r.Reason, suffix) {
		t.Errorf("%s: reason %q, want the suffix %q", r.Ref, r.Reason, suffix)
	}
}

func accepted(kind string, obj interface {
	GetNamespace() string
	GetName() string
}) (ident.Ref, translator.Accepted) {
	return ident.NewKey(obj.GetNamespace(), obj.GetName()).Ref(kind), translator.Accepted{Obj: obj, Rev: 1, At: acceptedAt}
}

// both translates in with a fresh Translate and with a Translator that saw
// before first, and checks they agree.
func both(t *testing.T, before, in *translator.Input) *translator.Output {
	t.Helper()
	tr := translator.NewTranslator()
	tr.Translate(before, translator.Options{})
	got := tr.Translate(in, translator.Options{})
	want := translator.Translate(in, translator.Options{})
	sameOutput(t, "last accepted", got, want)
	return want
}

// TestLastAcceptedGroup is the canonical case: a 90/10 group edited to a
// negative weight, or to 0 + 0, keeps serving 90/10 instead of a 503.
func TestLastAcceptedGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(g *v1alpha1.UpstreamGroup)
	}{
		{"negative weight", func(g *v1alpha1.UpstreamGroup) { g.Spec.Destinations[1].Weight = -1 }},
		{"all zero", func(g *v1alpha1.UpstreamGroup) { g.Spec.Destinations[0].Weight, g.Spec.Destinations[1].Weight = 0, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLAWorld()
			before := w.input(1)
			if out := translator.Translate(before, translator.Options{}); !is9010(payAction(t, out)) {
				t.Fatalf("before the edit: %v", weightsOf(payAction(t, out)))
			}
			old := w.g
			w.g = old.DeepCopy()
			w.g.Generation = 4
			tc.edit(w.g)
			in := w.input(2)

			// Without a last accepted version: the route answers 503.
			out := both(t, before, in)
			if d := payAction(t, out).GetDirectResponse(); d == nil || d.Status != 503 {
				t.Fatalf("without LastAccepted: %v, want a 503", payAction(t, out))
			}

			k, a := accepted(v1alpha1.KindUpstreamGroup, old)
			in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
			out = both(t, before, in)
			if r := payAction(t, out); !is9010(r) {
				t.Errorf("with LastAccepted: %v, want 90/10", r)
			}
			rep := reportOf(t, out, v1alpha1.KindUpstreamGroup, "pay")
			serves(t, rep, 3)
			if !strings.HasPrefix(rep.Reason, "spec.destinations") {
				t.Errorf("reason %q should give the input version's problems", rep.Reason)
			}
			if vs := reportOf(t, out, v1alpha1.KindVirtualService, "pay"); vs.State != v1alpha1.StateAccepted {
				t.Errorf("the VirtualService: %+v, want Accepted", vs)
			}

			// The same version as the input's is not an earlier one.
			in.LastAccepted[k] = translator.Accepted{Obj: w.g, Rev: 2, At: acceptedAt}
			out = both(t, before, in)
			if rep := reportOf(t, out, v1alpha1.KindUpstreamGroup, "pay"); rep.Serving != nil {
				t.Errorf("the input's own version as LastAccepted: serving %+v", rep.Serving)
			}
			// A version of an object of the same name deleted and created
			// again is not an earlier version of this one.
			for _, other := range []func(g *v1alpha1.UpstreamGroup){
				func(g *v1alpha1.UpstreamGroup) { g.UID, w.g.UID = "old", "new" },
				func(g *v1alpha1.UpstreamGroup) {
					g.CreationTimestamp = metav1.NewTime(acceptedAt.Add(-time.Hour))
					w.g.CreationTimestamp = metav1.NewTime(acceptedAt)
				},
			} {
				w.g = w.g.DeepCopy()
				prev := old.DeepCopy()
				other(prev)
				in := w.input(3)
				in.LastAccepted = map[ident.Ref]translator.Accepted{k: {Obj: prev, Rev: 1, At: acceptedAt}}
				if rep := reportOf(t, both(t, before, in), v1alpha1.KindUpstreamGroup, "pay"); rep.Serving != nil {
					t.Errorf("another incarnation's version as LastAccepted: serving %+v", rep.Serving)
				}
				w.g.UID, w.g.CreationTimestamp = "", metav1.Time{}
			}
			// An entry of the wrong type is ignored.
			in.LastAccepted[k] = translator.Accepted{Obj: w.vs, Rev: 1, At: acceptedAt}
			if rep := reportOf(t, both(t, before, in), v1alpha1.KindUpstreamGroup, "pay"); rep.Serving != nil {
				t.Errorf("a VirtualService as the group's LastAccepted: serving %+v", rep.Serving)
			}
		})
	}
}

// TestLastAcceptedGone: an accepted version that is Rejected now (its
// upstreams are gone) is not served; deleting the object removes it.
func TestLastAcceptedGone(t *testing.T) {
	w := newLAWorld()
	old := w.g
	w.g = old.DeepCopy()
	w.g.Spec.Destinations[0].Weight = -1
	k, a := accepted(v1alpha1.KindUpstreamGroup, old)

	// Both upstreams gone: the accepted version has nothing to split over.
	in := w.input(2)
	in.Upstreams = nil
	in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
	withUps := w.input(2)
	withUps.LastAccepted = in.LastAccepted
	out := both(t, withUps, in)
	if rep := reportOf(t, out, v1alpha1.KindUpstreamGroup, "pay"); rep.Serving != nil || rep.State != v1alpha1.StateRejected {
		t.Errorf("accepted version rejected too: %+v, want Rejected serving nothing", rep)
	}
	if d := payAction(t, out).GetDirectResponse(); d == nil || d.Status != 503 {
		t.Errorf("accepted version rejected too: %v, want a 503", payAction(t, out))
	}
	// The upstreams come back: the Translator that read them missing serves
	// the accepted version again.
	if r := payAction(t, both(t, in, withUps)); !is9010(r) {
		t.Errorf("upstreams back: %v, want 90/10", r)
	}

	// Deleted: nothing is served, whatever LastAccepted says.
	del := w.input(2)
	del.UpstreamGroups = nil
	del.LastAccepted = in.LastAccepted
	out = both(t, withUps, del)
	for _, r := range out.Reports {
		if r.Kind == v1alpha1.KindUpstreamGroup {
			t.Errorf("deleted group reported: %+v", r)
		}
	}
	if d := payAction(t, out).GetDirectResponse(); d == nil || d.Status != 503 {
		t.Errorf("deleted group: %v, want a 503", payAction(t, out))
	}
}

// TestLastAcceptedKinds: every kind the translator compiles serves its
// accepted version when its new one is Rejected.
func TestLastAcceptedKinds(t *testing.T) {
	t.Run("Upstream", func(t *testing.T) {
		w := newLAWorld()
		before := w.input(1)
		old := w.v2
		w.v2 = old.DeepCopy()
		w.v2.Spec.Static.Hosts[0].Port = 0
		in := w.input(2)
		k, a := accepted(v1alpha1.KindUpstream, old)
		in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
		out := both(t, before, in)
		serves(t, reportOf(t, out, v1alpha1.KindUpstream, "pay-v2"), 1)
		if r := payAction(t, out); !is9010(r) {
			t.Errorf("route %v, want 90/10", r)
		}
		found := false
		for _, e := range out.Fleets["default"].Endpoints {
			if e.ClusterName == "pay-v2_default" {
				found = e.Endpoints[0].LbEndpoints[0].GetEndpoint().Address.GetSocketAddress().GetPortValue() == 8080
			}
		}
		if !found {
			t.Error("pay-v2's endpoints are not the accepted version's")
		}
	})
	t.Run("VirtualService", func(t *testing.T) {
		w := newLAWorld()
		before := w.input(1)
		old := w.vs
		w.vs = old.DeepCopy()
		w.vs.Spec.VirtualHost.Domains[0] = ""
		in := w.input(2)
		k, a := accepted(v1alpha1.KindVirtualService, old)
		in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
		out := both(t, before, in)
		serves(t, reportOf(t, out, v1alpha1.KindVirtualService, "pay"), 2)
		if r := payAction(t, out); !is9010(r) {
			t.Errorf("route %v, want the accepted version's 90/10", r)
		}
		if gw := reportOf(t, out, v1alpha1.KindGateway, "gw"); gw.State != v1alpha1.StateAccepted {
			t.Errorf("gateway %+v", gw)
		}
	})
	t.Run("Gateway", func(t *testing.T) {
		w := newLAWorld()
		before := w.input(1)
		old := w.gw
		w.gw = old.DeepCopy()
		w.gw.Spec.BindAddress = "not-an-ip"
		in := w.input(2)
		out := both(t, before, in)
		if n := len(out.Fleets["default"].Listeners); n != 0 {
			t.Fatalf("without LastAccepted: %d listeners", n)
		}
		k, a := accepted(v1alpha1.KindGateway, old)
		in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
		out = both(t, before, in)
		serves(t, reportOf(t, out, v1alpha1.KindGateway, "gw"), 1)
		if ls := out.Fleets["default"].Listeners; len(ls) != 1 || ls[0].Address.GetSocketAddress().GetPortValue() != 9000 {
			t.Errorf("listeners %v, want the accepted gateway's on port 9000", ls)
		}
	})
	t.Run("Canary", func(t *testing.T) {
		w := newLAWorld()
		before := w.input(1)
		old := w.cn
		w.cn = old.DeepCopy()
		w.cn.Spec.Steps = nil // neither steps nor stepWeight: rejected
		in := w.input(2)
		if rep := reportOf(t, both(t, before, in), v1alpha1.KindCanary, "pay"); rep.State != v1alpha1.StateRejected || rep.Serving != nil {
			t.Fatalf("without LastAccepted: %+v", rep)
		}
		k, a := accepted(v1alpha1.KindCanary, old)
		in.LastAccepted = map[ident.Ref]translator.Accepted{k: a}
		serves(t, reportOf(t, both(t, before, in), v1alpha1.KindCanary, "pay"), 4)
	})
}
