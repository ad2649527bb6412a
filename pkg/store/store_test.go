package store

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func ref(name string) v1alpha1.ResourceRef { return v1alpha1.ResourceRef{Name: name} }

func refNS(ns, name string) v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{Namespace: ns, Name: name}
}

func upstream(ns, name string, port uint32) *v1alpha1.Upstream {
	return &v1alpha1.Upstream{ObjectMeta: meta(ns, name), Spec: v1alpha1.UpstreamSpec{
		Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: "10.0.0.1", Port: port}}},
	}}
}

func group(ns, name string, dests ...v1alpha1.ResourceRef) *v1alpha1.UpstreamGroup {
	g := &v1alpha1.UpstreamGroup{ObjectMeta: meta(ns, name)}
	for _, d := range dests {
		g.Spec.Destinations = append(g.Spec.Destinations, v1alpha1.WeightedDestination{Destination: v1alpha1.Destination{Upstream: d}, Weight: 1})
	}
	return g
}

func vs(ns, name string, routes ...v1alpha1.Route) *v1alpha1.VirtualService {
	return &v1alpha1.VirtualService{ObjectMeta: meta(ns, name), Spec: v1alpha1.VirtualServiceSpec{
		VirtualHost: v1alpha1.VirtualHost{Domains: []string{name}, Routes: routes},
	}}
}

func single(r v1alpha1.ResourceRef) *v1alpha1.RouteAction {
	return &v1alpha1.RouteAction{Single: &v1alpha1.Destination{Upstream: r}}
}

func entries(objs ...metav1.Object) []Entry {
	out := make([]Entry, len(objs))
	for i, o := range objs {
		out[i] = Entry{Obj: o, Origin: Origin{File: "f.yaml", Line: i + 1}}
	}
	return out
}

// fixture is a small world with references of every kind.
func fixture() []Entry {
	return entries(
		upstream("default", "a", 1),
		upstream("default", "b", 2),
		upstream("default", "c", 3),
		upstream("other", "x", 4),
		group("default", "g1", ref("a"), ref("b")),
		// x resolves in the group's namespace; a is named across namespaces.
		group("other", "g2", ref("x"), refNS("default", "a")),
		vs("default", "vs1", v1alpha1.Route{
			RouteAction: single(ref("a")),
			Options:     &v1alpha1.RouteOptions{Shadowing: &v1alpha1.Mirror{Upstream: ref("c"), Percentage: 10}},
		}),
		vs("default", "vs2", v1alpha1.Route{
			RouteAction: &v1alpha1.RouteAction{UpstreamGroup: &v1alpha1.ResourceRef{Name: "g1"}},
			Options:     &v1alpha1.RouteOptions{Mirrors: []v1alpha1.Mirror{{Upstream: ref("b"), Percentage: 5}}},
		}),
		vs("default", "vs3", v1alpha1.Route{RouteAction: &v1alpha1.RouteAction{Multi: &v1alpha1.MultiDestination{
			Destinations: []v1alpha1.WeightedDestination{
				{Destination: v1alpha1.Destination{Upstream: ref("a")}, Weight: 1},
				{Destination: v1alpha1.Destination{Upstream: ref("b")}, Weight: 1},
			},
		}}}),
		vs("other", "vs4", v1alpha1.Route{RouteAction: &v1alpha1.RouteAction{UpstreamGroup: &v1alpha1.ResourceRef{Name: "g2"}}}),
		&v1alpha1.Gateway{ObjectMeta: meta("default", "gw"), Spec: v1alpha1.GatewaySpec{VirtualServices: []v1alpha1.ResourceRef{ref("vs1")}}},
		&v1alpha1.Canary{ObjectMeta: meta("default", "cn"), Spec: v1alpha1.CanarySpec{
			UpstreamGroup: ref("g1"), Stable: ref("a"), Canary: ref("b"),
		}},
	)
}

func TestReplaceSource(t *testing.T) {
	s := New()
	if _, err := s.ReplaceSource("a", entries(upstream("default", "u1", 1), upstream("default", "u2", 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceSource("b", entries(upstream("default", "u3", 3))); err != nil {
		t.Fatal(err)
	}
	before := s.Read() // a read transaction is a snapshot
	gen := s.Generation()

	changed, err := s.ReplaceSource("a", entries(upstream("default", "u2", 20)))
	if err != nil || !changed {
		t.Fatalf("ReplaceSource: changed %v, err %v", changed, err)
	}
	if s.Generation() != gen+1 {
		t.Errorf("generation %d, want %d (one transaction)", s.Generation(), gen+1)
	}
	tx := s.Read()
	var got []string
	for _, u := range tx.Upstreams() {
		src, _ := tx.Source(v1alpha1.KindUpstream, ident.KeyOf(u))
		got = append(got, u.Name+"@"+src)
	}
	if strings.Join(got, " ") != "u2@a u3@b" {
		t.Errorf("after replace: %q, want u1 gone, u2 replaced, u3 of source b kept", got)
	}
	if u, _ := tx.Upstream(ident.Key{Namespace: "default", Name: "u2"}); u.Spec.Static.Hosts[0].Port != 20 {
		t.Errorf("u2 not replaced")
	}
	if n := before.Count(v1alpha1.KindUpstream); n != 3 {
		t.Errorf("old read transaction sees %d upstreams, want 3", n)
	}
}

func TestReplaceSourceErrorsWriteNothing(t *testing.T) {
	s := New()
	if _, err := s.ReplaceSource("a", entries(upstream("default", "keep", 1))); err != nil {
		t.Fatal(err)
	}
	gen := s.Generation()
	ch := s.Changed()

	dup := []Entry{
		{Obj: upstream("default", "new", 1), Origin: Origin{File: "x.yaml", Line: 1}},
		{Obj: upstream("", "d", 1), Origin: Origin{File: "x.yaml", Line: 5}},
		{Obj: upstream("default", "d", 2), Origin: Origin{File: "y.yaml", Line: 9}},
	}
	_, err := s.ReplaceSource("a", dup)
	if err == nil || !strings.Contains(err.Error(), "x.yaml:5") || !strings.Contains(err.Error(), "y.yaml:9") {
		t.Errorf("duplicate error %v should name both origins", err)
	}
	type notAPI struct{ metav1.ObjectMeta }
	if _, err := s.ReplaceSource("a", []Entry{{Obj: &notAPI{meta("default", "n")}}}); err == nil {
		t.Error("a non-API object was accepted")
	}
	if s.Generation() != gen {
		t.Errorf("failed replaces changed the generation")
	}
	select {
	case <-ch:
		t.Error("failed replaces closed Changed()")
	default:
	}
	tx := s.Read()
	if tx.Count(v1alpha1.KindUpstream) != 1 {
		t.Errorf("failed replaces wrote objects: %d upstreams", tx.Count(v1alpha1.KindUpstream))
	}
}

func TestReplaceSourceNoop(t *testing.T) {
	s := New()
	if _, err := s.ReplaceSource("a", fixture()); err != nil {
		t.Fatal(err)
	}
	gen := s.Generation()
	ch := s.Changed()

	// Fresh, equal objects are not a change; neither is a status change.
	again := fixture()
	again[0].Obj.(*v1alpha1.Upstream).Status.State = v1alpha1.StateRejected
	again[1].Obj.(*v1alpha1.Upstream).ResourceVersion = "42"
	changed, err := s.ReplaceSource("a", again)
	if err != nil || changed {
		t.Fatalf("equal replace: changed %v, err %v", changed, err)
	}
	if s.Generation() != gen {
		t.Errorf("equal replace bumped the generation")
	}
	select {
	case <-ch:
		t.Error("equal replace closed Changed()")
	default:
	}

	// Each of these is a change.
	for name, mutate := range map[string]func([]Entry) []Entry{
		"spec":   func(e []Entry) []Entry { e[0].Obj.(*v1alpha1.Upstream).Spec.Static.Hosts[0].Port = 99; return e },
		"label":  func(e []Entry) []Entry { e[0].Obj.SetLabels(map[string]string{"a": "b"}); return e },
		"origin": func(e []Entry) []Entry { e[0].Origin.Line = 100; return e },
		"delete": func(e []Entry) []Entry { return e[1:] },
	} {
		if changed, err := s.ReplaceSource("a", mutate(fixture())); err != nil || !changed {
			t.Errorf("%s: changed %v, err %v", name, changed, err)
		}
		// Back to the fixture for the next case.
		if _, err := s.ReplaceSource("a", fixture()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChanged(t *testing.T) {
	s := New()
	if s.Generation() != 0 {
		t.Fatalf("new store at generation %d", s.Generation())
	}
	ch := s.Changed()
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	if closed(ch) {
		t.Fatal("Changed() closed before any change")
	}

	// An update that changes nothing, or fails, wakes nobody.
	if err := s.Update(func(tx *WriteTxn) error {
		return tx.Delete(v1alpha1.KindUpstream, ident.Key{Namespace: "default", Name: "none"})
	}); err != nil {
		t.Fatal(err)
	}
	errBoom := errorString("boom")
	if err := s.Update(func(tx *WriteTxn) error {
		if err := tx.Put("s", Entry{Obj: upstream("default", "u", 1)}); err != nil {
			return err
		}
		return errBoom
	}); err != errBoom {
		t.Fatalf("Update error %v, want boom", err)
	}
	if closed(ch) || s.Generation() != 0 || s.Read().Count(v1alpha1.KindUpstream) != 0 {
		t.Fatal("a no-op or failed update was committed")
	}

	// A change closes the channel taken before it; the next one is open.
	if err := s.Update(func(tx *WriteTxn) error { return tx.Put("s", Entry{Obj: upstream("default", "u", 1)}) }); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Error("change did not close Changed()")
	}
	if s.Generation() != 1 {
		t.Errorf("generation %d, want 1", s.Generation())
	}
	next := s.Changed()
	if closed(next) {
		t.Error("the channel after a change is already closed")
	}
	if err := s.Update(func(tx *WriteTxn) error {
		return tx.Delete(v1alpha1.KindUpstream, ident.Key{Namespace: "default", Name: "u"})
	}); err != nil {
		t.Fatal(err)
	}
	if !closed(next) || s.Generation() != 2 {
		t.Errorf("delete: closed %v, generation %d", closed(next), s.Generation())
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestCanaryState(t *testing.T) {
	s := New()
	put := func(st *CanaryState) error {
		return s.Update(func(tx *WriteTxn) error { return tx.PutCanaryState(st) })
	}
	state := func(weight uint32) *CanaryState {
		return &CanaryState{
			ID: "default/cn", GroupID: "default/g",
			Weights: map[string]uint32{"default/a": 100 - weight, "default/b": weight},
			Status:  v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Weight: int32(weight)},
		}
	}
	if err := put(&CanaryState{ID: "default/x"}); err == nil {
		t.Error("state without GroupID accepted")
	}
	if err := put(state(5)); err != nil {
		t.Fatal(err)
	}
	gen := s.Generation()
	if err := put(state(5)); err != nil || s.Generation() != gen {
		t.Errorf("equal state: err %v, generation %d -> %d", err, gen, s.Generation())
	}
	if err := put(state(20)); err != nil || s.Generation() != gen+1 {
		t.Errorf("new weight: err %v, generation %d -> %d", err, gen, s.Generation())
	}
	other := state(1)
	other.ID, other.GroupID = "apps/early", "apps/g"
	if err := put(other); err != nil {
		t.Fatal(err)
	}

	tx := s.Read()
	got, ok := tx.CanaryState(ident.Key{Namespace: "default", Name: "cn"})
	if !ok || got.Weights["default/b"] != 20 || got.Status.Weight != 20 {
		t.Errorf("CanaryState = %+v, %v", got, ok)
	}
	var ids []string
	for _, st := range tx.CanaryStates() {
		ids = append(ids, st.ID)
	}
	if strings.Join(ids, " ") != "apps/early default/cn" {
		t.Errorf("CanaryStates order %q", ids)
	}

	gen = s.Generation()
	if err := s.Update(func(tx *WriteTxn) error {
		return tx.DeleteCanaryState(ident.Key{Namespace: "default", Name: "missing"})
	}); err != nil || s.Generation() != gen {
		t.Errorf("deleting a missing state: err %v, generation %d -> %d", err, gen, s.Generation())
	}
	if err := s.Update(func(tx *WriteTxn) error { return tx.DeleteCanaryState(ident.Key{Namespace: "default", Name: "cn"}) }); err != nil || s.Generation() != gen+1 {
		t.Errorf("delete: err %v, generation %d -> %d", err, gen, s.Generation())
	}
	if _, ok := s.Read().CanaryState(ident.Key{Namespace: "default", Name: "cn"}); ok {
		t.Error("state still there after delete")
	}
}

func TestOrigins(t *testing.T) {
	for o, want := range map[Origin]string{{}: "", {File: "a.yaml"}: "a.yaml", {File: "a.yaml", Line: 3}: "a.yaml:3"} {
		if o.String() != want {
			t.Errorf("Origin %+v = %q, want %q", o, o.String(), want)
		}
	}
	s := New()
	if _, err := s.ReplaceSource("src", entries(upstream("", "u", 1))); err != nil {
		t.Fatal(err)
	}
	tx := s.Read()
	if o, ok := tx.Origin(v1alpha1.KindUpstream, ident.Key{Namespace: "default", Name: "u"}); !ok || o.String() != "f.yaml:1" {
		t.Errorf("Origin = %v, %v", o, ok)
	}
	if u, _ := tx.Upstream(ident.Key{Namespace: "default", Name: "u"}); u.Namespace != "default" {
		t.Errorf("stored namespace %q, want default", u.Namespace)
	}
}

// A Canary's status is the engine's state: followers must see the leader's
// writes, so unlike other kinds a status change is a change.
func TestCanaryStatusChangeIsAChange(t *testing.T) {
	st := New()
	c := &v1alpha1.Canary{}
	c.Name, c.Namespace = "myapp", "default"
	if _, err := st.ReplaceSource("kube", []Entry{{Obj: c}}); err != nil {
		t.Fatal(err)
	}
	gen := st.Generation()
	same := c.DeepCopy()
	if _, err := st.ReplaceSource("kube", []Entry{{Obj: same}}); err != nil {
		t.Fatal(err)
	}
	if st.Generation() != gen {
		t.Fatal("an equal Canary changed the store")
	}
	moved := c.DeepCopy()
	moved.Status.Phase, moved.Status.Weight = v1alpha1.PhaseProgressing, 20
	if _, err := st.ReplaceSource("kube", []Entry{{Obj: moved}}); err != nil {
		t.Fatal(err)
	}
	if st.Generation() == gen {
		t.Fatal("a Canary status change did not change the store; followers would miss the leader's weights")
	}
	got, _ := st.Read().Canary(ident.Key{Namespace: "default", Name: "myapp"})
	if got.Status.Weight != 20 {
		t.Fatalf("stored canary weight = %d, want 20", got.Status.Weight)
	}
}

// A revision moves with content: an equal write keeps it, a change bumps it.
func TestObjectRevisions(t *testing.T) {
	s := New()
	rev := func() uint64 {
		objs := Objects[*v1alpha1.Upstream](s.Read(), v1alpha1.KindUpstream)
		if len(objs) != 1 {
			t.Fatalf("%d upstreams", len(objs))
		}
		return objs[0].Rev
	}
	if _, err := s.ReplaceSource("src", entries(upstream("", "u", 1))); err != nil {
		t.Fatal(err)
	}
	r1 := rev()
	if r1 == 0 {
		t.Fatal("revision 0 for a stored object")
	}
	if _, err := s.ReplaceSource("src", entries(upstream("", "u", 1))); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != r1 {
		t.Errorf("equal content: revision %d -> %d", r1, r)
	}
	if _, err := s.ReplaceSource("src", entries(upstream("", "u", 2))); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r <= r1 {
		t.Errorf("changed content: revision %d -> %d", r1, r)
	}
}

// Objects are read in ident.Key order, also when one namespace is a
// prefix of another.
func TestReadOrderIsKeyOrder(t *testing.T) {
	s := New()
	if _, err := s.ReplaceSource("src", entries(upstream("team-a", "x", 1), upstream("team", "x", 1), upstream("team", "y", 1))); err != nil {
		t.Fatal(err)
	}
	objs := Objects[*v1alpha1.Upstream](s.Read(), v1alpha1.KindUpstream)
	for i := 1; i < len(objs); i++ {
		if ident.KeyOf(objs[i-1].Obj).Compare(ident.KeyOf(objs[i].Obj)) >= 0 {
			t.Errorf("read order %v before %v", ident.KeyOf(objs[i-1].Obj), ident.KeyOf(objs[i].Obj))
		}
	}
	if u, ok := s.Read().Upstream(ident.NewKey("team", "y")); !ok || u.Name != "y" {
		t.Error("lookup by key failed")
	}
}
