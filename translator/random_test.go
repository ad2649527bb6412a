package translator_test

// A second, wider random world for the one-path property (see
// incremental_test.go for the first).

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// seeds runs the property tests over more random worlds than they do by
// default: go test ./translator -run MatchesTranslate -seeds 600.
var seeds = flag.Int("seeds", 0, "random worlds the property tests run (0: each test's default)")

func seedsOr(n int) int {
	if *seeds > 0 {
		return *seeds
	}
	return n
}

type rworld struct {
	r         *rand.Rand
	ups       map[string]*v1alpha1.Upstream
	groups    map[string]*v1alpha1.UpstreamGroup
	vss       map[string]*v1alpha1.VirtualService
	gws       map[string]*v1alpha1.Gateway
	cans      map[string]*v1alpha1.Canary
	overrides map[ident.Key]translator.GroupOverride
	endpoints map[ident.Key][]translator.Endpoint
	accepted  map[ident.Ref]translator.Accepted
	revs      revisions
	mode      int // 0 sorted; 1 shuffled; 2 dups; 3 rev 0
	opts      translator.Options
}

func meta(n string) metav1.ObjectMeta   { return metav1.ObjectMeta{Name: n, Namespace: "default"} }
func ref(n string) v1alpha1.ResourceRef { return v1alpha1.ResourceRef{Name: n} }

func (w *rworld) up() string  { return fmt.Sprintf("u%d", w.r.IntN(10)) }
func (w *rworld) grp() string { return fmt.Sprintf("g%d", w.r.IntN(6)) }
func (w *rworld) vsn() string { return fmt.Sprintf("v%d", w.r.IntN(12)) }

func (w *rworld) newUpstream(n string) *v1alpha1.Upstream {
	u := &v1alpha1.Upstream{ObjectMeta: meta(n)}
	if w.r.IntN(3) == 0 {
		u.Spec.Kube = &v1alpha1.KubeUpstream{ServiceName: n, ServicePort: 80}
	} else {
		port := uint32(8000 + w.r.IntN(2))
		if w.r.IntN(5) == 0 {
			port = 0 // rejected
		}
		u.Spec.Static = &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: "10.0.0.1", Port: port}}}
	}
	return u
}

func (w *rworld) newGroup(n string) *v1alpha1.UpstreamGroup {
	g := &v1alpha1.UpstreamGroup{ObjectMeta: meta(n)}
	k := 1 + w.r.IntN(3)
	seen := map[string]bool{}
	for range k {
		u := w.up()
		if seen[u] {
			continue
		}
		seen[u] = true
		g.Spec.Destinations = append(g.Spec.Destinations, v1alpha1.WeightedDestination{Destination: v1alpha1.Destination{Upstream: ref(u)}, Weight: int64(w.r.IntN(3) * 10)})
	}
	return g
}

// since is a creationTimestamp: none, or one of three, so that claims
// are decided by time, by name, or by both.
func (w *rworld) since() metav1.Time {
	if w.r.IntN(2) == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(time.Date(2026, 11, 29, 8+w.r.IntN(3), 0, 0, 0, time.UTC))
}

func (w *rworld) newVS(n string) *v1alpha1.VirtualService {
	v := &v1alpha1.VirtualService{ObjectMeta: meta(n)}
	v.CreationTimestamp = w.since()
	doms := []string{fmt.Sprintf("d%d.example.com", w.r.IntN(4))}
	if w.r.IntN(3) == 0 {
		doms = append(doms, fmt.Sprintf("d%d.example.com", w.r.IntN(4)))
	}
	if w.r.IntN(6) == 0 {
		doms = append(doms, "*.wild.com")
	}
	if w.r.IntN(8) == 0 {
		doms = append(doms, fmt.Sprintf("gw%d_default", w.r.IntN(3))) // listener-name clash? (listener names differ, harmless)
	}
	v.Spec.VirtualHost.Domains = doms
	nr := 1 + w.r.IntN(2)
	for i := range nr {
		rt := v1alpha1.Route{Matchers: []v1alpha1.Matcher{{Prefix: fmt.Sprintf("/r%d", i)}}}
		switch w.r.IntN(4) {
		case 0:
			d := v1alpha1.Destination{Upstream: ref(w.up())}
			rt.RouteAction = &v1alpha1.RouteAction{Single: &d}
		case 1:
			rt.RouteAction = &v1alpha1.RouteAction{Multi: &v1alpha1.MultiDestination{Destinations: []v1alpha1.WeightedDestination{
				{Destination: v1alpha1.Destination{Upstream: ref(w.up())}, Weight: int64(w.r.IntN(2) * 10)},
				{Destination: v1alpha1.Destination{Upstream: ref(w.up())}, Weight: 10},
			}}}
		default:
			g := ref(w.grp())
			rt.RouteAction = &v1alpha1.RouteAction{UpstreamGroup: &g}
		}
		if w.r.IntN(2) == 0 {
			rt.Options = &v1alpha1.RouteOptions{Shadowing: &v1alpha1.Mirror{Upstream: ref(w.up()), Percentage: float64(w.r.IntN(50))}}
		}
		v.Spec.VirtualHost.Routes = append(v.Spec.VirtualHost.Routes, rt)
	}
	return v
}

func (w *rworld) newGW(n string) *v1alpha1.Gateway {
	g := &v1alpha1.Gateway{ObjectMeta: meta(n)}
	g.Spec.BindPort = uint32(9000 + w.r.IntN(3))
	if w.r.IntN(4) == 0 {
		g.Spec.BindAddress = []string{"::", "0.0.0.0", "127.0.0.1"}[w.r.IntN(3)]
	}
	if w.r.IntN(2) == 0 {
		g.Spec.Fleet = fmt.Sprintf("f%d", w.r.IntN(2))
	}
	if w.r.IntN(2) == 0 {
		for range 1 + w.r.IntN(3) {
			g.Spec.VirtualServices = append(g.Spec.VirtualServices, ref(w.vsn()))
		}
	}
	return g
}

func (w *rworld) newCanary(n string) *v1alpha1.Canary {
	c := &v1alpha1.Canary{ObjectMeta: meta(n)}
	c.CreationTimestamp = w.since()
	c.Spec.UpstreamGroup = ref(w.grp())
	c.Spec.Stable = ref(w.up())
	c.Spec.Canary = ref(w.up())
	c.Spec.Steps = []v1alpha1.CanaryStep{{Weight: 10}}
	return c
}

func newRWorld(seed uint64) *rworld {
	w := &rworld{r: rand.New(rand.NewPCG(seed, 11)), ups: map[string]*v1alpha1.Upstream{}, groups: map[string]*v1alpha1.UpstreamGroup{},
		vss: map[string]*v1alpha1.VirtualService{}, gws: map[string]*v1alpha1.Gateway{}, cans: map[string]*v1alpha1.Canary{},
		overrides: map[ident.Key]translator.GroupOverride{}, endpoints: map[ident.Key][]translator.Endpoint{},
		accepted: map[ident.Ref]translator.Accepted{}}
	for range 4 {
		w.edit()
	}
	for range 10 {
		w.edit()
	}
	return w
}

func toggle[P any](w *rworld, m map[string]P, n string, mk func(string) P) {
	if _, ok := m[n]; ok && w.r.IntN(3) == 0 {
		delete(m, n)
		return
	}
	m[n] = mk(n)
}

func (w *rworld) edit() string {
	r := w.r
	switch r.IntN(13) {
	case 11, 12:
		return w.accept()
	case 0:
		n := w.up()
		toggle(w, w.ups, n, w.newUpstream)
		return "upstream " + n
	case 1:
		n := w.grp()
		toggle(w, w.groups, n, w.newGroup)
		return "group " + n
	case 2, 3:
		n := w.vsn()
		toggle(w, w.vss, n, w.newVS)
		return "vs " + n
	case 4:
		n := fmt.Sprintf("gw%d", r.IntN(3))
		toggle(w, w.gws, n, w.newGW)
		return "gw " + n
	case 5:
		n := fmt.Sprintf("c%d", r.IntN(3))
		toggle(w, w.cans, n, w.newCanary)
		return "canary " + n
	case 6:
		k := ident.NewKey("default", w.grp())
		if r.IntN(3) == 0 {
			delete(w.overrides, k)
		} else {
			ov := translator.GroupOverride{Canary: ident.NewKey("default", fmt.Sprintf("c%d", r.IntN(3))), Weights: map[ident.Key]uint32{}}
			for range 2 {
				ov.Weights[ident.NewKey("default", w.up())] = uint32(r.IntN(3) * 50)
			}
			if r.IntN(2) == 0 {
				ov.Mirror = &v1alpha1.Mirror{Upstream: ref(w.up()), Percentage: float64(r.IntN(50))}
			}
			if r.IntN(4) != 0 {
				ov.Upstream = ident.NewKey("default", w.up())
			}
			switch r.IntN(3) {
			case 0:
				ov.Stickiness = &v1alpha1.CanaryStickiness{Header: "x-user"}
			case 1:
				ov.Stickiness = &v1alpha1.CanaryStickiness{Cookie: &v1alpha1.StickyCookie{Name: "u", TTL: v1alpha1.Duration([]string{"", "1h", "soon"}[r.IntN(3)])}}
			}
			if r.IntN(3) == 0 {
				ov.Cohort = &v1alpha1.CanaryABTest{Headers: []v1alpha1.HeaderMatcher{{Name: "x-beta", Value: "1"}}}
				if r.IntN(2) == 0 {
					ov.Cohort.Cookie = &v1alpha1.CookieMatcher{Name: "grp", Value: fmt.Sprint(r.IntN(2))}
				}
			}
			w.overrides[k] = ov
		}
		return "override " + k.String()
	case 9:
		// content-equal copy: new pointer, new revision
		switch r.IntN(3) {
		case 0:
			if len(w.vss) > 0 {
				k := slices.Sorted(maps.Keys(w.vss))[r.IntN(len(w.vss))]
				w.vss[k] = w.vss[k].DeepCopy()
			}
		case 1:
			if len(w.groups) > 0 {
				k := slices.Sorted(maps.Keys(w.groups))[r.IntN(len(w.groups))]
				w.groups[k] = w.groups[k].DeepCopy()
			}
		default:
			if len(w.ups) > 0 {
				k := slices.Sorted(maps.Keys(w.ups))[r.IntN(len(w.ups))]
				w.ups[k] = w.ups[k].DeepCopy()
			}
		}
		return "copy"
	case 10:
		// group weight-only edit
		if len(w.groups) > 0 {
			k := slices.Sorted(maps.Keys(w.groups))[r.IntN(len(w.groups))]
			g := w.groups[k].DeepCopy()
			g.Spec.Destinations[r.IntN(len(g.Spec.Destinations))].Weight = int64(r.IntN(3) * 10)
			w.groups[k] = g
		}
		return "weight"
	case 7:
		k := ident.NewKey("default", w.up())
		if r.IntN(3) == 0 {
			delete(w.endpoints, k)
		} else {
			w.endpoints[k] = []translator.Endpoint{{Address: fmt.Sprintf("10.9.0.%d", r.IntN(3)+1)}}
		}
		return "endpoints " + k.String()
	default:
		w.mode = r.IntN(4)
		if r.IntN(4) == 0 {
			w.mode = 0
		}
		if r.IntN(10) == 0 {
			w.opts.LoadReporting = !w.opts.LoadReporting
		}
		return fmt.Sprintf("mode %d opts %v", w.mode, w.opts)
	}
}

// accept records the current version of a random object as its last
// accepted one (later edits make it an earlier version), forgets an entry,
// or records one of the wrong type or of an object not in the input.
func (w *rworld) accept() string {
	r := w.r
	at := time.Date(2026, 11, 29, 17, r.IntN(60), 0, 0, time.UTC)
	put := func(kind, name string, obj any) string {
		k := ident.NewKey("default", name).Ref(kind)
		w.accepted[k] = translator.Accepted{Obj: obj, Rev: w.revs.rev(obj), At: at}
		return "accept " + k.String()
	}
	switch r.IntN(8) {
	case 0:
		if len(w.accepted) > 0 {
			k := slices.SortedFunc(maps.Keys(w.accepted), func(a, b ident.Ref) int { return a.Compare(b) })[r.IntN(len(w.accepted))]
			delete(w.accepted, k)
			return "forget " + k.String()
		}
	case 1:
		if len(w.ups) > 0 {
			n := slices.Sorted(maps.Keys(w.ups))[r.IntN(len(w.ups))]
			return put(v1alpha1.KindUpstream, n, w.ups[n])
		}
	case 2, 3:
		if len(w.groups) > 0 {
			n := slices.Sorted(maps.Keys(w.groups))[r.IntN(len(w.groups))]
			return put(v1alpha1.KindUpstreamGroup, n, w.groups[n])
		}
	case 4:
		if len(w.vss) > 0 {
			n := slices.Sorted(maps.Keys(w.vss))[r.IntN(len(w.vss))]
			return put(v1alpha1.KindVirtualService, n, w.vss[n])
		}
	case 5:
		if len(w.gws) > 0 {
			n := slices.Sorted(maps.Keys(w.gws))[r.IntN(len(w.gws))]
			return put(v1alpha1.KindGateway, n, w.gws[n])
		}
	case 6:
		if len(w.cans) > 0 {
			n := slices.Sorted(maps.Keys(w.cans))[r.IntN(len(w.cans))]
			return put(v1alpha1.KindCanary, n, w.cans[n])
		}
	default:
		// a new object not (yet) in the input, or one of the wrong kind
		if r.IntN(2) == 0 {
			n := w.grp()
			return put(v1alpha1.KindUpstreamGroup, n, w.newGroup(n))
		}
		n := w.up()
		return put(v1alpha1.KindUpstream, n, w.newGroup(n))
	}
	return "accept nothing"
}

func rvalues[P any](w *rworld, m map[string]P, mk func(string) P) []translator.Object[P] {
	out := make([]translator.Object[P], 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		o := m[k]
		rev := w.revs.rev(o)
		if w.mode == 3 && w.r.IntN(2) == 0 {
			rev = 0
		}
		out = append(out, translator.Object[P]{Obj: o, Rev: rev})
	}
	switch w.mode {
	case 1:
		w.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	case 2:
		if len(out) > 0 && w.r.IntN(2) == 0 {
			i := w.r.IntN(len(out))
			k := slices.Sorted(maps.Keys(m))[i]
			d := mk(k)
			extra := translator.Object[P]{Obj: d, Rev: w.revs.next()}
			if w.r.IntN(2) == 0 {
				out = append(out, extra)
			} else {
				out = slices.Insert(out, i, extra)
			}
		}
	}
	return out
}

func (w *rworld) input() *translator.Input {
	// deterministic: the same input twice (fresh copy for Translate)
	in := &translator.Input{
		Upstreams:       rvalues(w, w.ups, w.newUpstream),
		UpstreamGroups:  rvalues(w, w.groups, w.newGroup),
		VirtualServices: rvalues(w, w.vss, w.newVS),
		Gateways:        rvalues(w, w.gws, w.newGW),
		Canaries:        rvalues(w, w.cans, w.newCanary),
	}
	if len(w.overrides) > 0 {
		in.Overrides = maps.Clone(w.overrides)
	}
	if len(w.endpoints) > 0 {
		in.Endpoints = maps.Clone(w.endpoints)
	}
	if len(w.accepted) > 0 {
		in.LastAccepted = maps.Clone(w.accepted)
	}
	return in
}

// TestTranslatorMatchesTranslateWideEdits is the property test over a
// wider world: every kind added, deleted and re-added (references to
// missing objects that later resolve), rejected and accepted again, copies
// with equal content, domain clashes, gateways selecting missing or
// rejected VirtualServices, overrides mirroring to missing upstreams,
// endpoints, options switching, and input that is shuffled, duplicated or
// unversioned. (It was run at 600 seeds x 80 edits when written.)
func TestTranslatorMatchesTranslateWideEdits(t *testing.T) {
	serving := map[string]int{}
	for seed := uint64(0); seed < uint64(seedsOr(40)); seed++ {
		w := newRWorld(seed)
		tr := translator.NewTranslator()
		var hist []string
		for i := range 80 {
			what := w.edit()
			hist = append(hist, what)
			in := w.input()
			got := tr.Translate(in, w.opts)
			want := translator.Translate(in, w.opts)
			step := fmt.Sprintf("seed %d step %d (%s) hist %v", seed, i, what, hist[max(0, len(hist)-4):])
			sameOutput(t, step, got, want)
			for _, r := range want.Reports {
				if r.Serving != nil {
					serving[r.Kind]++
				}
			}
			for _, f := range want.Fleets {
				for _, rc := range f.Routes {
					for _, vh := range rc.VirtualHosts {
						for _, rt := range vh.Routes {
							switch {
							case rt.Name == "cohort":
								serving["cohort routes"]++
							case rt.GetRoute().GetWeightedClusters().GetUseHashPolicy().GetValue():
								serving["sticky routes"]++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("reports serving a last accepted version, by kind, and routes a release adds to: %v", serving)
	for _, k := range []string{v1alpha1.KindUpstream, v1alpha1.KindUpstreamGroup, v1alpha1.KindVirtualService, "cohort routes", "sticky routes"} {
		if serving[k] == 0 {
			t.Errorf("no %s: the world does not test it", k)
		}
	}
}
