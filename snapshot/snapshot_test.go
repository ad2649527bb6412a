package snapshot

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

func mustBuild(t testing.TB, r *translator.Resources, prev *Snapshot) *Snapshot {
	t.Helper()
	s, err := Build("default", r, prev)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWeightChangeBumpsRoutesOnly(t *testing.T) {
	a := mustBuild(t, st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources(), nil)
	b := mustBuild(t, st.App{Name: "myapp", Weights: []uint32{50, 50}}.Resources(), a)
	for k := range NumKinds {
		same := a.Version(k) == b.Version(k)
		if want := k != KindRoute; same != want {
			t.Errorf("%s version unchanged = %v, want %v", k, same, want)
		}
	}
	// Unchanged resources are shared, not re-marshaled copies.
	if a.Get(KindCluster, "myapp-v1_default").Any != b.Get(KindCluster, "myapp-v1_default").Any {
		t.Error("unchanged cluster not shared between snapshots")
	}
	c := mustBuild(t, st.App{Name: "myapp", Weights: []uint32{50, 50}}.Resources(), nil)
	if !b.Equal(c) {
		t.Error("same content built twice gives different versions")
	}
}

func TestListenersSplitSocketAndAPI(t *testing.T) {
	s := mustBuild(t, st.App{Name: "myapp", Weights: []uint32{1}}.Resources(), nil)
	if r := s.Get(KindListener, "myapp"); r == nil || !r.API {
		t.Fatalf("API listener myapp = %+v, want API", r)
	}
	if r := s.Get(KindListener, "http"); r == nil || r.API {
		t.Fatalf("socket listener http = %+v, want not API", r)
	}
}

// vtprotobuf writes map entries in Go's random order; equal content must
// still keep its version.
func TestMapOrderKeepsVersion(t *testing.T) {
	mk := func() *translator.Resources {
		r := st.App{Name: "myapp", Weights: []uint32{1}}.Resources()
		fields := map[string]*structpb.Value{}
		for _, k := range strings.Fields("a b c d e f g h i j k l m n o p") {
			fields[k] = structpb.NewStringValue(k)
		}
		r.Clusters[0].Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
			"x": {Fields: fields}, "y": {Fields: fields}, "z": {Fields: fields},
		}}
		return r
	}
	prev := mustBuild(t, mk(), nil)
	for range 20 {
		s := mustBuild(t, mk(), prev)
		if s.Version(KindCluster) != prev.Version(KindCluster) {
			t.Fatal("cluster version changed for equal content")
		}
	}
}

func TestServedResourcesValidate(t *testing.T) {
	r := st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources()
	st.Mirror(r.Routes[1], "myapp-v2_default", 123456)
	s := mustBuild(t, r, nil)
	for k := range NumKinds {
		for _, res := range s.Resources(k) {
			v, ok := res.Message.(interface{ ValidateAll() error })
			if !ok {
				t.Fatalf("%s %s has no ValidateAll", k, res.Name)
			}
			if err := v.ValidateAll(); err != nil {
				t.Errorf("%s %s: %v", k, res.Name, err)
			}
		}
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestVersionsAreContentHashes(t *testing.T) {
	s := mustBuild(t, st.App{Name: "myapp", Weights: []uint32{1, 1}}.Resources(), nil)
	if got := SetVersion(s.Resources(KindCluster)); got != s.Version(KindCluster) {
		t.Errorf("SetVersion = %s, want %s", got, s.Version(KindCluster))
	}
	if SetVersion(nil) == "" {
		t.Error("empty set has no version")
	}
	refs := s.Origins(KindRoute, []string{"myapp", "http"})
	if len(refs) != 3 || refs[0].Kind != "Gateway" {
		t.Errorf("origins = %v", refs)
	}
}
