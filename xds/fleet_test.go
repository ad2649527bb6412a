package xds

import (
	"slices"
	"testing"
	"time"

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
