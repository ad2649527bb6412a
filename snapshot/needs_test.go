package snapshot

import (
	"slices"
	"testing"

	st "github.com/serin-dev/serin/snapshot/snapshottest"
)

func TestClusterNeeds(t *testing.T) {
	r := st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources()
	s, err := Build("default", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"myapp-v1_default", "myapp-v2_default"}
	// A listener needs what its RDS route configuration needs.
	n := s.ClusterNeeds([]*Resource{s.Get(KindListener, "myapp")})
	if !slices.Equal(n.Clusters, want) || !slices.Equal(n.Endpoints, want) {
		t.Errorf("listener myapp needs %+v, want clusters %v", n, want)
	}
	// One route configuration: its own shared slice, not a copy.
	rt := s.Get(KindRoute, "myapp")
	if n := s.ClusterNeeds([]*Resource{rt}); &n.Clusters[0] != &rt.Needs.Clusters[0] {
		t.Error("one route configuration's needs were copied")
	}
	// Two that overlap: the union, sorted, once each.
	n = s.ClusterNeeds(s.Resources(KindRoute))
	if !slices.Equal(n.Clusters, want) || !slices.Equal(n.Endpoints, want) {
		t.Errorf("both routes need %+v, want %v", n, want)
	}
	if n := s.ClusterNeeds(s.Resources(KindCluster)); len(n.Clusters) != 0 {
		t.Errorf("clusters need %v, want nothing", n.Clusters)
	}
}
