package xds

import (
	"slices"
	"testing"

	"github.com/serin-dev/serin/snapshot"
)

func TestDeltaStateDiff(t *testing.T) {
	res := func(name, version string) *snapshot.Resource {
		return &snapshot.Resource{Name: name, Version: version}
	}
	rs := []*snapshot.Resource{res("a", "1"), res("b", "2"), res("c", "3")}
	sh := &shared{}
	base := sh.baseFor(snapshot.KindCluster, "set-1", rs)
	if sh.baseFor(snapshot.KindCluster, "set-1", rs) != base {
		t.Error("an equal set is not shared")
	}

	var d deltaState
	// Initial versions from a reconnecting client: a current, b stale,
	// z gone from the server.
	d.have.set("a", "1")
	d.have.set("b", "old")
	d.have.set("z", "9")
	d.subscribed(deltaChange{added: []string{"missing", "gone"}, dropped: []string{"gone"}})
	_, names, removed := d.diff(rs)
	if !slices.Equal(names, []string{"b", "c"}) {
		t.Errorf("changed = %v, want b (stale) and c (missing)", names)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"missing", "z"}) {
		t.Errorf("removed = %v, want z (not selected) and missing (subscribed, does not exist)", removed)
	}

	d.caughtUp(base)
	if d.notFound != nil || d.have.over != nil || d.have.base != base {
		t.Fatalf("after caughtUp: %+v", d)
	}
	if _, names, removed := d.diff(rs); len(names)+len(removed) != 0 {
		t.Errorf("nothing to send once caught up: %v %v", names, removed)
	}

	// Forgetting one in the base is an override, not a change to the
	// shared base.
	d.subscribed(deltaChange{dropped: []string{"b"}, forgotten: []string{"b"}})
	if _, ok := d.have.get("b"); ok || !slices.Equal(base.names, []string{"a", "b", "c"}) {
		t.Errorf("forgotten b: have %+v, base %v", d.have, base.names)
	}
	var had []string
	d.have.each(func(n string) { had = append(had, n) })
	slices.Sort(had)
	if !slices.Equal(had, []string{"a", "c"}) {
		t.Errorf("each = %v", had)
	}
	if _, names, _ := d.diff(rs); !slices.Equal(names, []string{"b"}) {
		t.Errorf("b is sent again while selected: %v", names)
	}
}
