package snapshot

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/envoyrefs"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

type recorder struct {
	mu    sync.Mutex
	calls [][]string
}

func (r *recorder) fn(changed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, changed)
}

func (r *recorder) get() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func TestCacheEqualUpdateIsNoop(t *testing.T) {
	c := NewCache()
	defer c.Close()
	var rec recorder
	defer c.Subscribe(rec.fn)()
	app := st.App{Name: "myapp", Weights: []uint32{90, 10}}
	if err := c.Update(st.Default(app.Resources())); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Ready():
	default:
		t.Fatal("not ready after first update")
	}
	first := c.Snapshot("default")
	if err := c.Update(st.Default(app.Resources())); err != nil {
		t.Fatal(err)
	}
	if got := rec.get(); len(got) != 1 {
		t.Fatalf("notifications = %v, want one", got)
	}
	if c.Snapshot("default").Published != first.Published {
		t.Error("equal update changed the published time")
	}
}

func TestCacheFleets(t *testing.T) {
	c := NewCache()
	defer c.Close()
	var rec recorder
	defer c.Subscribe(rec.fn)()
	def := st.App{Name: "myapp", Weights: []uint32{1}}.Resources()
	edge := st.App{Name: "edge", Weights: []uint32{1}}.Resources()
	if err := c.Update(st.Output(map[string]*translator.Resources{"default": def, "edge": edge})); err != nil {
		t.Fatal(err)
	}
	if f, s := c.Resolve("", "nope", "edge"); f != "edge" || s.Get(KindListener, "edge") == nil {
		t.Errorf("Resolve(nope, edge) = %s", f)
	}
	if f, _ := c.Resolve("nope"); f != "default" {
		t.Errorf("Resolve(nope) = %s, want default", f)
	}
	if s := c.Snapshot("unknown"); s == nil || s.Fleet != "default" {
		t.Error("unknown fleet does not fall back to default")
	}
	// Changing only edge wakes only edge; removing it names it too.
	edge2 := st.App{Name: "edge", Weights: []uint32{1, 1}}.Resources()
	if err := c.Update(st.Output(map[string]*translator.Resources{"default": def, "edge": edge2})); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(st.Output(map[string]*translator.Resources{"default": def})); err != nil {
		t.Fatal(err)
	}
	got := rec.get()
	want := [][]string{{"default", "edge"}, {"edge"}, {"edge"}}
	if len(got) != len(want) || !slices.Equal(got[1], want[1]) || !slices.Equal(got[2], want[2]) {
		t.Errorf("notifications = %v, want %v", got, want)
	}
	if slices.Contains(c.Fleets(), "edge") {
		t.Error("edge still published")
	}
}

func TestCacheKeepsLastGoodOnInconsistentOutput(t *testing.T) {
	c := NewCache()
	defer c.Close()
	good := st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources()
	if err := c.Update(st.Default(good)); err != nil {
		t.Fatal(err)
	}
	bad := st.App{Name: "myapp", Weights: []uint32{50, 50}}.Resources()
	bad.Clusters = bad.Clusters[:1]
	err := c.Update(st.Default(bad))
	if err == nil || !strings.Contains(err.Error(), `fleet "default" not published`) {
		t.Fatalf("err = %v", err)
	}
	if s := c.Snapshot("default"); s.Get(KindCluster, "myapp-v2_default") == nil {
		t.Error("last good snapshot replaced by an inconsistent one")
	}
}

// A removed cluster outlives the routes that named it by the drain period.
func TestCacheMakeBeforeBreak(t *testing.T) {
	const drain = 150 * time.Millisecond
	c := NewCache(WithDrain(drain))
	defer c.Close()
	var rec recorder
	defer c.Subscribe(rec.fn)()
	if err := c.Update(st.Default(st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources())); err != nil {
		t.Fatal(err)
	}
	v1only := st.App{Name: "myapp", Weights: []uint32{100}}.Resources()
	start := time.Now()
	if err := c.Update(st.Default(v1only)); err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot("default")
	for _, r := range s.Resources(KindRoute) {
		if slices.Contains(envoyrefs.RouteClusters(r.Message.(routeConfig)), "myapp-v2_default") {
			t.Fatalf("route %s still names the removed cluster", r.Name)
		}
	}
	if s.Get(KindCluster, "myapp-v2_default") == nil || s.Get(KindEndpoint, "myapp-v2_default") == nil {
		t.Fatal("removed cluster (or its EDS) went in the same version as the routes")
	}
	if !slices.Equal(s.Draining(), []string{"myapp-v2_default"}) {
		t.Errorf("draining = %v", s.Draining())
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	// An unrelated update during the drain keeps the deadline.
	if err := c.Update(st.Default(v1only)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Snapshot("default").Get(KindCluster, "myapp-v2_default") != nil {
		if time.Now().After(deadline) {
			t.Fatal("drained cluster never removed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if el := time.Since(start); el < drain {
		t.Errorf("cluster removed after %v, before the %v drain", el, drain)
	}
	s = c.Snapshot("default")
	if s.Get(KindEndpoint, "myapp-v2_default") != nil || len(s.Draining()) != 0 {
		t.Error("EDS of drained cluster still served")
	}
	if n := len(rec.get()); n != 3 {
		t.Errorf("notifications = %d, want 3 (first, routes, cluster removal)", n)
	}
	// It does not come back on the next publish.
	if err := c.Update(st.Default(v1only)); err != nil {
		t.Fatal(err)
	}
	if c.Snapshot("default").Get(KindCluster, "myapp-v2_default") != nil {
		t.Error("drained cluster came back")
	}
}

func TestHandler(t *testing.T) {
	c := NewCache()
	defer c.Close()
	rr := httptest.NewRecorder()
	c.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/api/v1/snapshot", nil))
	if rr.Code != 503 {
		t.Errorf("before first update: %d", rr.Code)
	}
	if err := c.Update(st.Default(st.App{Name: "myapp", Weights: []uint32{90, 10}}.Resources())); err != nil {
		t.Fatal(err)
	}
	rr = httptest.NewRecorder()
	c.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/api/v1/snapshot?fleet=nope", nil))
	var js JSONSnapshot
	if err := json.Unmarshal(rr.Body.Bytes(), &js); err != nil {
		t.Fatal(err, rr.Body.String())
	}
	if js.Fleet != "default" || len(js.Clusters) != 2 || len(js.Listeners) != 2 || js.Versions["route"] == "" {
		t.Errorf("snapshot JSON = %+v", js)
	}
	if !strings.Contains(rr.Body.String(), `"weightedClusters"`) || !strings.Contains(rr.Body.String(), "envoy.extensions.filters.http.router.v3.Router") {
		t.Errorf("resources not rendered: %s", rr.Body.String())
	}
}
