package xds

import (
	"slices"
	"testing"

	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
)

// served returns the default fleet's snapshot of a, as the cache serves it.
func served(t *testing.T, a st.App) *snapshot.Snapshot {
	t.Helper()
	c := snapshot.NewCache()
	t.Cleanup(c.Close)
	if err := c.Update(st.Default(a.Resources())); err != nil {
		t.Fatal(err)
	}
	_, s := c.Resolve(snapshot.DefaultFleet)
	return s
}

func TestSubscriptionSetNames(t *testing.T) {
	sh := &shared{}
	var cds subscription
	// Envoy's legacy wildcard: a first CDS request without names.
	if !cds.setNames(snapshot.KindCluster, nil, sh) || !cds.wildcard || !cds.legacy || cds.gen != 1 {
		t.Fatalf("first empty CDS request: %+v", cds)
	}
	if cds.setNames(snapshot.KindCluster, nil, sh) || cds.gen != 1 {
		t.Errorf("the same request again is no change: %+v", cds)
	}
	// Naming resources ends the legacy wildcard; naming none afterwards
	// does not bring it back.
	if !cds.setNames(snapshot.KindCluster, []string{"b", "a", "b"}, sh) || cds.wildcard || !slices.Equal(cds.sorted, []string{"a", "b"}) || !cds.names["a"] {
		t.Errorf("named: %+v", cds)
	}
	if !cds.setNames(snapshot.KindCluster, nil, sh) || cds.wildcard || len(cds.sorted) != 0 || cds.gen != 3 {
		t.Errorf("names dropped: %+v", cds)
	}
	// An explicit "*" is a wildcard besides the names.
	if !cds.setNames(snapshot.KindCluster, []string{"*", "a"}, sh) || !cds.wildcard || cds.legacy || !slices.Equal(cds.sorted, []string{"a"}) {
		t.Errorf("explicit wildcard: %+v", cds)
	}

	// EDS and RDS have no legacy wildcard.
	var eds subscription
	if !eds.setNames(snapshot.KindEndpoint, nil, sh) || eds.wildcard || !eds.requested {
		t.Errorf("first empty EDS request: %+v", eds)
	}
	// Streams asking for the same names share one copy.
	var other subscription
	other.setNames(snapshot.KindCluster, []string{"a"}, sh)
	if &other.sorted[0] != &cds.sorted[0] {
		t.Error("equal subscriptions are not shared")
	}
}

func TestSubscriptionChange(t *testing.T) {
	sh := &shared{}
	var cds subscription
	c := cds.change(snapshot.KindCluster, nil, nil, sh)
	if !c.first || !cds.wildcard || cds.gen != 1 {
		t.Fatalf("first empty delta CDS request: %+v %+v", c, cds)
	}
	var eds subscription
	c = eds.change(snapshot.KindEndpoint, []string{"b", "a"}, nil, sh)
	if !c.first || eds.wildcard || !slices.Equal(c.added, []string{"b", "a"}) || !slices.Equal(eds.sorted, []string{"a", "b"}) {
		t.Fatalf("first EDS request: %+v %+v", c, eds)
	}
	c = eds.change(snapshot.KindEndpoint, []string{"a", "c"}, []string{"b"}, sh)
	if c.first || !slices.Equal(c.added, []string{"c"}) || !slices.Equal(c.dropped, []string{"b"}) || !slices.Equal(c.forgotten, []string{"b"}) ||
		!slices.Equal(eds.sorted, []string{"a", "c"}) || eds.names["b"] || eds.gen != 2 {
		t.Errorf("subscribe c, unsubscribe b: %+v %+v", c, eds)
	}
	// Unsubscribing while wildcard drops the name but the client keeps
	// the resource (it is still covered); once "*" is unsubscribed, in
	// the same request, the names after it are forgotten.
	cds.change(snapshot.KindCluster, []string{"x", "y"}, nil, sh)
	c = cds.change(snapshot.KindCluster, nil, []string{"x", "*", "y"}, sh)
	if cds.wildcard || !slices.Equal(c.dropped, []string{"x", "y"}) || !slices.Equal(c.forgotten, []string{"y"}) || len(cds.sorted) != 0 {
		t.Errorf("unsubscribe x, *, y: %+v %+v", c, cds)
	}
	// Every request is a change, even one that changes nothing.
	gen := cds.gen
	cds.change(snapshot.KindCluster, nil, nil, sh)
	if cds.gen != gen+1 {
		t.Errorf("gen %d, want %d", cds.gen, gen+1)
	}
}

func TestSubscriptionSelectedAndMemo(t *testing.T) {
	s := served(t, app(90, 10))
	sh := &shared{}
	var lds subscription
	lds.setNames(snapshot.KindListener, nil, sh)
	names := func(rs []*snapshot.Resource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	// Wildcard LDS: socket listeners only, unless an API listener is named.
	if got := names(lds.selected(snapshot.KindListener, s)); !slices.Equal(got, []string{"http"}) {
		t.Errorf("wildcard LDS = %v", got)
	}
	lds.setNames(snapshot.KindListener, []string{"*", "myapp"}, sh)
	if got := names(lds.selected(snapshot.KindListener, s)); !slices.Equal(got, []string{"http", "myapp"}) {
		t.Errorf("wildcard LDS naming myapp = %v", got)
	}
	var eds subscription
	eds.setNames(snapshot.KindEndpoint, []string{"missing", "myapp-v2_default"}, sh)
	if got := names(eds.selected(snapshot.KindEndpoint, s)); !slices.Equal(got, []string{"myapp-v2_default"}) {
		t.Errorf("named EDS = %v", got)
	}
	if eds.selected(snapshot.KindEndpoint, nil) != nil {
		t.Error("selected from no snapshot")
	}

	// The memo holds while neither the subscription nor the kind's
	// version in the snapshot moves.
	if _, ok := eds.memoized(snapshot.KindEndpoint, s); ok {
		t.Fatal("memoized before memoize")
	}
	eds.memoize(snapshot.KindEndpoint, s, "v1")
	if v, ok := eds.memoized(snapshot.KindEndpoint, s); !ok || v != "v1" {
		t.Errorf("memoized = %q %v", v, ok)
	}
	if _, ok := eds.memoized(snapshot.KindEndpoint, served(t, app(100))); ok {
		t.Error("memo survived a new EDS version")
	}
	eds.setNames(snapshot.KindEndpoint, []string{"myapp-v1_default"}, sh)
	if _, ok := eds.memoized(snapshot.KindEndpoint, s); ok {
		t.Error("memo survived a subscription change")
	}
}
