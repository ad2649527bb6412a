package snapshot

import (
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	st "github.com/serin-dev/serin/snapshot/snapshottest"
)

func TestCheck(t *testing.T) {
	good := st.App{Name: "myapp", Weights: []uint32{90, 10}}
	if err := Check(good.Resources()); err != nil {
		t.Fatalf("good resources: %v", err)
	}

	r := good.Resources()
	r.Clusters = r.Clusters[:1] // myapp-v2 gone but still weighted
	if err := Check(r); err == nil || !strings.Contains(err.Error(), `names cluster "myapp-v2_default"`) {
		t.Errorf("weighted cluster missing: err = %v", err)
	}

	r = st.App{Name: "myapp", Weights: []uint32{1}}.Resources()
	st.Mirror(r.Routes[0], "shadow_default", 10)
	r.Needs = nil // the route now names the mirror too: needs as the translator would say them
	st.WithNeeds(r)
	if err := Check(r); err == nil || !strings.Contains(err.Error(), `"shadow_default"`) {
		t.Errorf("mirror cluster missing: err = %v", err)
	}

	r = good.Resources()
	r.Endpoints = r.Endpoints[1:]
	if err := Check(r); err == nil || !strings.Contains(err.Error(), `EDS name "myapp-v1_default"`) {
		t.Errorf("EDS missing: err = %v", err)
	}

	r = good.Resources()
	r.Routes = r.Routes[:1] // API listener's RDS "myapp" gone
	if err := Check(r); err == nil || !strings.Contains(err.Error(), `listener "myapp" takes route configuration "myapp"`) {
		t.Errorf("RDS missing: err = %v", err)
	}
}

type routeConfig = *routev3.RouteConfiguration

// The memoized checker must still catch a dangling reference in a message
// it has seen before, once the thing it names goes away.
func TestCheckerMemoStillChecks(t *testing.T) {
	ck := newChecker()
	r := st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources()
	if err := ck.check(r); err != nil {
		t.Fatalf("good resources: %v", err)
	}
	r.Clusters = r.Clusters[:1] // same route messages, one cluster gone
	if err := ck.check(r); err == nil || !strings.Contains(err.Error(), `names cluster "myapp-v2_default"`) {
		t.Errorf("memoized route, missing cluster: err = %v", err)
	}
	r = st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources()
	if err := ck.check(r); err != nil {
		t.Fatalf("good resources again: %v", err)
	}
	r.Routes = r.Routes[:1] // same listener messages, its RDS gone
	if err := ck.check(r); err == nil || !strings.Contains(err.Error(), `listener "myapp" takes route configuration "myapp"`) {
		t.Errorf("memoized listener, missing RDS: err = %v", err)
	}
}
