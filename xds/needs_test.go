package xds

import "testing"

func TestRouteNeedsAllHeldMemo(t *testing.T) {
	var r routeNeeds
	cds, eds := []string{"a", "b"}, []string{"a"}
	r.set("v1", []string{"a", "b"}, []string{"a", ""})
	if r.allHeldFor(cds, eds) {
		t.Fatal("memo true before anything was remembered")
	}
	r.rememberAllHeld(cds, eds)
	if !r.allHeldFor(cds, eds) {
		t.Error("memo false for the remembered sets")
	}
	if !r.allHeldFor(cds, []string{"a"}) {
		t.Error("memo false for an equal EDS set")
	}
	if r.allHeldFor([]string{"a"}, eds) {
		t.Error("memo true after the CDS set lost b")
	}
	if r.allHeldFor(cds, nil) {
		t.Error("memo true with no EDS set")
	}
	r.set("v2", []string{"a", "c"}, []string{"a", "c"})
	if r.allHeldFor(cds, eds) {
		t.Error("memo true for other needs")
	}
}

func TestSameSlice(t *testing.T) {
	a := []string{"x", "y"}
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{a, a, true},
		{a, []string{"x", "y"}, true},
		{a, a[:1], false},
		{[]string{}, []string{}, true},
		{nil, nil, false}, // nothing remembered is never the same
		{a, nil, false},
	} {
		if got := sameSlice(tc.a, tc.b); got != tc.want {
			t.Errorf("sameSlice(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
