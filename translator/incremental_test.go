package translator_test

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"google.golang.org/protobuf/proto"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// world is a mutable configuration that hands out inputs the way the store
// does: sorted, and the same pointer for an object that did not change.
type world struct {
	rng       *rand.Rand
	upstreams map[string]*v1alpha1.Upstream
	groups    map[string]*v1alpha1.UpstreamGroup
	vss       map[string]*v1alpha1.VirtualService
	gateways  map[string]*v1alpha1.Gateway
	canaries  map[string]*v1alpha1.Canary
	overrides map[ident.Key]translator.GroupOverride
	endpoints map[ident.Key][]translator.Endpoint
	accepted  map[ident.Ref]translator.Accepted
	next      int
	revs      revisions
}

// revisions hands out revisions as the store does: a new one for every new
// version of an object (the test worlds always edit a copy).
type revisions struct {
	of   map[any]uint64
	last uint64
}

// rev is the revision of object o, new the first time o is seen.
func (r *revisions) rev(o any) uint64 {
	if r.of == nil {
		r.of = map[any]uint64{}
	}
	rev, ok := r.of[o]
	if !ok {
		rev = r.next()
		r.of[o] = rev
	}
	return rev
}

// next is a revision no object has yet.
func (r *revisions) next() uint64 {
	r.last++
	return r.last
}

func newWorld(seed uint64, services int) *world {
	w := &world{
		rng:       rand.New(rand.NewPCG(seed, 7)),
		upstreams: map[string]*v1alpha1.Upstream{},
		groups:    map[string]*v1alpha1.UpstreamGroup{},
		vss:       map[string]*v1alpha1.VirtualService{},
		gateways:  map[string]*v1alpha1.Gateway{},
		canaries:  map[string]*v1alpha1.Canary{},
		overrides: map[ident.Key]translator.GroupOverride{},
		endpoints: map[ident.Key][]translator.Endpoint{},
		accepted:  map[ident.Ref]translator.Accepted{},
		next:      services,
	}
	for _, s := range gen.Services(gen.Config{VirtualServices: services}) {
		w.addService(s)
	}
	// A kube upstream, used by service 0's group.
	w.upstreams["default/kube-a"] = &v1alpha1.Upstream{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-a", Namespace: "default"},
		Spec:       v1alpha1.UpstreamSpec{Kube: &v1alpha1.KubeUpstream{ServiceName: "a", ServicePort: 8080}},
	}
	w.endpoints[kubeA] = []translator.Endpoint{{Address: "10.9.0.1", Zone: "z1"}}
	if g := w.groups["default/"+gen.Name(0)]; g != nil {
		g = g.DeepCopy()
		g.Spec.Destinations = append(g.Spec.Destinations, v1alpha1.WeightedDestination{
			Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "kube-a"}}, Weight: 5})
		w.groups["default/"+gen.Name(0)] = g
	}
	// Service 1's domain is also claimed by an extra VirtualService.
	if services > 1 {
		v := w.vss["default/"+gen.Name(1)].DeepCopy()
		v.Name = "zz-dup"
		w.vss["default/zz-dup"] = v
	}
	if seed%2 == 0 { // two fleets, one selecting a few services
		w.gateways["default/gw"] = &v1alpha1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"}}
		w.gateways["default/edge"] = &v1alpha1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: "default"},
			Spec: v1alpha1.GatewaySpec{Fleet: "edge", BindPort: 9000, VirtualServices: []v1alpha1.ResourceRef{
				{Name: gen.Name(0)}, {Name: gen.Name(2)}, {Name: "missing"}}},
		}
	}
	w.canaries["default/c0"] = &v1alpha1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "c0", Namespace: "default"},
		Spec: v1alpha1.CanarySpec{
			UpstreamGroup: v1alpha1.ResourceRef{Name: gen.Name(0)},
			Stable:        v1alpha1.ResourceRef{Name: gen.Name(0) + "-v1"},
			Canary:        v1alpha1.ResourceRef{Name: gen.Name(0) + "-v2"},
		},
	}
	return w
}

func (w *world) addService(s gen.Service) {
	w.upstreams["default/"+s.Stable.Name] = s.Stable
	w.upstreams["default/"+s.Canary.Name] = s.Canary
	w.groups["default/"+s.Group.Name] = s.Group
	w.vss["default/"+s.VirtualService.Name] = s.VirtualService
}

var kubeA = ident.NewKey("default", "kube-a")

func sortedValues[P comparable](w *world, m map[string]P) []translator.Object[P] {
	out := make([]translator.Object[P], 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		o := m[k]
		out = append(out, translator.Object[P]{Obj: o, Rev: w.revs.rev(o)})
	}
	return out
}

// input is what InputFrom would build: new maps each time.
func (w *world) input() *translator.Input {
	in := &translator.Input{
		Upstreams:       sortedValues(w, w.upstreams),
		UpstreamGroups:  sortedValues(w, w.groups),
		VirtualServices: sortedValues(w, w.vss),
		Gateways:        sortedValues(w, w.gateways),
		Canaries:        sortedValues(w, w.canaries),
	}
	if len(w.overrides) > 0 {
		in.Overrides = maps.Clone(w.overrides)
	}
	if len(w.endpoints) > 0 {
		in.Endpoints = map[ident.Key][]translator.Endpoint{}
		for k, v := range w.endpoints {
			in.Endpoints[k] = slices.Clone(v)
		}
	}
	if len(w.accepted) > 0 {
		in.LastAccepted = maps.Clone(w.accepted)
	}
	return in
}

func pick[P any](rng *rand.Rand, m map[string]P) (string, P) {
	keys := slices.Sorted(maps.Keys(m))
	k := keys[rng.IntN(len(keys))]
	return k, m[k]
}

// edit makes one random change and says what it was.
func (w *world) edit() string {
	r := w.rng
	if len(w.vss) < 2 || len(w.upstreams) < 2 {
		w.addService(gen.Services(gen.Config{VirtualServices: w.next + 1})[w.next])
		w.next++
		return "add service"
	}
	switch r.IntN(12) {
	case 0, 1, 2: // weight change
		k, g := pick(r, w.groups)
		if r.IntN(2) == 0 { // the control plane accepted this version
			w.accepted[ident.MustParseKey(k).Ref(v1alpha1.KindUpstreamGroup)] = translator.Accepted{Obj: g, Rev: w.revs.rev(g)}
		}
		g = g.DeepCopy()
		d := r.IntN(len(g.Spec.Destinations))
		g.Spec.Destinations[d].Weight = int64(r.IntN(4) * 10) // sometimes all zero: rejected
		w.groups[k] = g
		return "weight " + k
	case 3: // add a service
		w.addService(gen.Services(gen.Config{VirtualServices: w.next + 1})[w.next])
		w.next++
		return "add service"
	case 4: // remove a VirtualService
		k, _ := pick(r, w.vss)
		delete(w.vss, k)
		return "remove vs " + k
	case 5: // remove or add an upstream
		if r.IntN(2) == 0 {
			k, _ := pick(r, w.upstreams)
			delete(w.upstreams, k)
			return "remove upstream " + k
		}
		s := gen.Services(gen.Config{VirtualServices: w.next + 1})[w.next]
		w.next++
		w.upstreams["default/"+s.Stable.Name] = s.Stable
		return "add upstream"
	case 6: // endpoints
		eps := []translator.Endpoint{{Address: fmt.Sprintf("10.9.0.%d", r.IntN(5)+1), Zone: "z" + fmt.Sprint(r.IntN(2))}}
		if r.IntN(4) == 0 {
			delete(w.endpoints, kubeA)
		} else {
			w.endpoints[kubeA] = eps
		}
		return "endpoints"
	case 7: // canary override
		name := gen.Name(r.IntN(3))
		id := ident.NewKey("default", name)
		switch r.IntN(3) {
		case 0:
			delete(w.overrides, id)
		default:
			ov := translator.GroupOverride{Canary: ident.NewKey("default", "c0"), Weights: map[ident.Key]uint32{
				ident.NewKey("default", name+"-v1"): uint32(r.IntN(3) * 50), ident.NewKey("default", name+"-v2"): uint32(r.IntN(3) * 50)}}
			if r.IntN(2) == 0 {
				ov.Mirror = &v1alpha1.Mirror{Upstream: v1alpha1.ResourceRef{Name: name + "-v2"}, Percentage: float64(r.IntN(50))}
			}
			w.overrides[id] = ov
		}
		return "override " + id.String()
	case 8: // a VirtualService turns rejected or back
		k, v := pick(r, w.vss)
		v = v.DeepCopy()
		if v.Spec.VirtualHost.Domains[0] == "" {
			v.Spec.VirtualHost.Domains[0] = strings.TrimPrefix(k, "default/") + ".example.com"
		} else {
			v.Spec.VirtualHost.Domains[0] = ""
		}
		w.vss[k] = v
		return "vs rejected toggle " + k
	case 9: // route contents change
		k, v := pick(r, w.vss)
		v = v.DeepCopy()
		rt := &v.Spec.VirtualHost.Routes[0]
		rt.Matchers = []v1alpha1.Matcher{{Prefix: fmt.Sprintf("/p%d", r.IntN(3))}}
		if o := rt.Options; o != nil && o.Shadowing != nil {
			o.Shadowing.Percentage = float64(r.IntN(100))
		}
		w.vss[k] = v
		return "route edit " + k
	case 10: // a static host changes, or an upstream is rejected
		k, u := pick(r, w.upstreams)
		u = u.DeepCopy()
		if s := u.Spec.Static; s != nil {
			if r.IntN(3) == 0 {
				s.Hosts[0].Port = 0 // rejected
			} else {
				s.Hosts[0].Port = uint32(8000 + r.IntN(3))
			}
		}
		w.upstreams[k] = u
		return "upstream edit " + k
	default: // a gateway or canary edit, or nothing at all
		if len(w.gateways) > 0 && r.IntN(2) == 0 {
			k, g := pick(r, w.gateways)
			g = g.DeepCopy()
			g.Spec.BindPort = uint32(9000 + r.IntN(2))
			w.gateways[k] = g
			return "gateway " + k
		}
		return "nothing"
	}
}

var deterministic = proto.MarshalOptions{Deterministic: true}

func marshalAll[M proto.Message](t *testing.T, ms []M) [][]byte {
	t.Helper()
	out := make([][]byte, len(ms))
	for i, m := range ms {
		b, err := deterministic.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// sameOutput fails unless got marshals to exactly want's bytes, with equal
// origins and reports.
func sameOutput(t *testing.T, step string, got, want *translator.Output) {
	t.Helper()
	if !reflect.DeepEqual(got.Reports, want.Reports) {
		for i := range min(len(got.Reports), len(want.Reports)) {
			if !reflect.DeepEqual(got.Reports[i], want.Reports[i]) {
				t.Fatalf("%s: report %d:\n got %+v\nwant %+v", step, i, got.Reports[i], want.Reports[i])
			}
		}
		t.Fatalf("%s: %d reports, want %d", step, len(got.Reports), len(want.Reports))
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got.Fleets)), slices.Sorted(maps.Keys(want.Fleets))) {
		t.Fatalf("%s: fleets %v, want %v", step, slices.Sorted(maps.Keys(got.Fleets)), slices.Sorted(maps.Keys(want.Fleets)))
	}
	for name, w := range want.Fleets {
		g := got.Fleets[name]
		for _, c := range []struct {
			kind      string
			got, want [][]byte
		}{
			{"clusters", marshalAll(t, g.Clusters), marshalAll(t, w.Clusters)},
			{"endpoints", marshalAll(t, g.Endpoints), marshalAll(t, w.Endpoints)},
			{"listeners", marshalAll(t, g.Listeners), marshalAll(t, w.Listeners)},
			{"api listeners", marshalAll(t, g.APIListeners), marshalAll(t, w.APIListeners)},
			{"routes", marshalAll(t, g.Routes), marshalAll(t, w.Routes)},
		} {
			if len(c.got) != len(c.want) {
				t.Fatalf("%s: fleet %s: %d %s, want %d", step, name, len(c.got), c.kind, len(c.want))
			}
			for i := range c.got {
				if !bytes.Equal(c.got[i], c.want[i]) {
					t.Fatalf("%s: fleet %s: %s[%d] differs", step, name, c.kind, i)
				}
			}
		}
		if !reflect.DeepEqual(g.Origins, w.Origins) {
			t.Fatalf("%s: fleet %s: origins differ", step, name)
		}
		if !reflect.DeepEqual(g.Needs, w.Needs) {
			t.Fatalf("%s: fleet %s: needs differ", step, name)
		}
	}
}

// TestTranslatorMatchesTranslate: after every random edit, the stateful
// Translator's output is byte for byte the pure Translate's.
func TestTranslatorMatchesTranslate(t *testing.T) {
	reused, compiled, steps := 0, 0, 0
	for seed := uint64(0); seed < uint64(seedsOr(16)); seed++ {
		w := newWorld(seed, 3+int(seed%5))
		opts := translator.Options{LoadReporting: seed%3 == 0}
		tr := translator.NewTranslator()
		sameOutput(t, "start", tr.Translate(w.input(), opts), translator.Translate(w.input(), opts))
		for i := range 60 {
			what := w.edit()
			in := w.input()
			got := tr.Translate(in, opts)
			st := tr.Stats()
			step := fmt.Sprintf("seed %d step %d (%s, %+v)", seed, i, what, st)
			sameOutput(t, step, got, translator.Translate(w.input(), opts))
			steps++
			compiled += st.Compiled
			if !st.Layout {
				reused++
			}
		}
	}
	t.Logf("%d of %d edits kept the layout; %d objects compiled in all", reused, steps, compiled)
	if reused < steps/4 {
		t.Errorf("only %d of %d edits kept the layout", reused, steps)
	}
}

// withGroupWeight returns in with group i's second destination weighted w,
// as the store would after one weight change: one new group revision.
func withGroupWeight(in *translator.Input, i int, w int64) *translator.Input {
	groups := slices.Clone(in.UpstreamGroups)
	g := groups[i].Obj.DeepCopy()
	g.Spec.Destinations[1].Weight = w
	groups[i] = translator.Object[*v1alpha1.UpstreamGroup]{Obj: g, Rev: nextRev(in)}
	out := *in
	out.UpstreamGroups = groups
	return &out
}

// identical counts the messages of b that are the same pointer as a's.
func identical[M comparable](a, b []M) (same int, differ []int) {
	for i := range b {
		if i < len(a) && a[i] == b[i] {
			same++
		} else {
			differ = append(differ, i)
		}
	}
	return same, differ
}

// TestTranslatorReusesMessages: after a weight change only the changed
// service's route configurations are new messages; after an endpoints
// change only its assignment is.
func TestTranslatorReusesMessages(t *testing.T) {
	in := gen.Input(gen.Config{VirtualServices: 50})
	kube := &v1alpha1.Upstream{
		ObjectMeta: metav1.ObjectMeta{Name: "zz-kube", Namespace: "default"},
		Spec:       v1alpha1.UpstreamSpec{Kube: &v1alpha1.KubeUpstream{ServiceName: "k", ServicePort: 80}},
	}
	in.Upstreams = append(in.Upstreams, translator.Object[*v1alpha1.Upstream]{Obj: kube, Rev: 1})
	g := in.UpstreamGroups[7].Obj.DeepCopy()
	g.Spec.Destinations = append(g.Spec.Destinations, v1alpha1.WeightedDestination{
		Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "zz-kube"}}, Weight: 1})
	in.UpstreamGroups[7] = translator.Object[*v1alpha1.UpstreamGroup]{Obj: g, Rev: 1}
	zzKube := ident.NewKey("default", "zz-kube")
	in.Endpoints = map[ident.Key][]translator.Endpoint{zzKube: {{Address: "10.8.0.1"}}}
	opts := translator.Options{LoadReporting: true}

	tr := translator.NewTranslator()
	before := tr.Translate(in, opts).Fleets["default"]

	in = withGroupWeight(in, 10, 55)
	after := tr.Translate(in, opts).Fleets["default"]
	if st := tr.Stats(); st.Layout || st.Compiled != 2 {
		t.Fatalf("a weight change: %+v, want the group and its VirtualService compiled and the layout kept", st)
	}
	for _, c := range []struct {
		kind   string
		n      int
		differ []int
	}{
		{"clusters", len(after.Clusters), second(identical(before.Clusters, after.Clusters))},
		{"endpoints", len(after.Endpoints), second(identical(before.Endpoints, after.Endpoints))},
		{"listeners", len(after.Listeners), second(identical(before.Listeners, after.Listeners))},
		{"api listeners", len(after.APIListeners), second(identical(before.APIListeners, after.APIListeners))},
	} {
		if len(c.differ) > 0 {
			t.Errorf("weight change: %d of %d %s are new messages", len(c.differ), c.n, c.kind)
		}
	}
	var newRoutes []string
	_, differ := identical(before.Routes, after.Routes)
	for _, i := range differ {
		newRoutes = append(newRoutes, after.Routes[i].Name)
	}
	if want := []string{"gateway-proxy_default", gen.Domain(10)}; !slices.Equal(newRoutes, want) {
		t.Errorf("weight change: new route configurations %v, want %v", newRoutes, want)
	}

	before = after
	in2 := *in
	in2.Endpoints = map[ident.Key][]translator.Endpoint{zzKube: {{Address: "10.8.0.2"}}}
	after = tr.Translate(&in2, opts).Fleets["default"]
	if st := tr.Stats(); st.Layout || st.Compiled != 1 {
		t.Fatalf("an endpoints change: %+v, want its Upstream compiled alone and the layout kept", st)
	}
	if _, d := identical(before.Routes, after.Routes); len(d) > 0 {
		t.Errorf("endpoints change: %d route configurations are new", len(d))
	}
	if _, d := identical(before.Clusters, after.Clusters); len(d) > 0 {
		t.Errorf("endpoints change: %d clusters are new", len(d))
	}
	if _, d := identical(before.Endpoints, after.Endpoints); len(d) != 1 || after.Endpoints[d[0]].ClusterName != "zz-kube_default" {
		t.Errorf("endpoints change: new assignments at %v, want only zz-kube_default's", d)
	}

	// A full translation (a new VirtualService) still reuses what did not change.
	before = after
	in3 := in2
	svc := gen.Services(gen.Config{VirtualServices: 51})[50]
	in3.VirtualServices = append(slices.Clone(in2.VirtualServices), translator.Object[*v1alpha1.VirtualService]{Obj: svc.VirtualService, Rev: nextRev(&in2)})
	after = tr.Translate(&in3, opts).Fleets["default"]
	if st := tr.Stats(); !st.Layout || st.Compiled != 1 {
		t.Fatalf("adding a VirtualService: %+v, want it compiled alone and a new layout", st)
	}
	if same, _ := identical(before.Clusters, after.Clusters); same != len(before.Clusters) {
		t.Errorf("full path: %d of %d clusters reused", same, len(before.Clusters))
	}
	if same, _ := identical(before.APIListeners, after.APIListeners); same != len(before.APIListeners) {
		t.Errorf("full path: %d of %d API listeners reused", same, len(before.APIListeners))
	}
	if same, _ := identical(before.Routes, after.Routes); same != len(before.Routes)-1 { // the gateway's changed
		t.Errorf("full path: %d of %d route configurations reused", same, len(before.Routes))
	}
}

func second[A, B any](_ A, b B) B { return b }

// nextRev is a revision above every one in the input.
func nextRev(in *translator.Input) uint64 {
	var r uint64
	for _, o := range in.Upstreams {
		r = max(r, o.Rev)
	}
	for _, o := range in.UpstreamGroups {
		r = max(r, o.Rev)
	}
	for _, o := range in.VirtualServices {
		r = max(r, o.Rev)
	}
	return r + 1
}
