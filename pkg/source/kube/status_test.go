package kube

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// fakeReports is a ReportSource whose state the test changes.
type fakeReports struct {
	mu    sync.Mutex
	list  []controlplane.ResourceStatus
	nacks map[ident.Ref][]v1alpha1.NackStatus
}

func (f *fakeReports) List() []controlplane.ResourceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]controlplane.ResourceStatus(nil), f.list...)
}

func (f *fakeReports) Nacks(r ident.Ref) []v1alpha1.NackStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nacks[r]
}

func (f *fakeReports) set(list ...controlplane.ResourceStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = list
}

// fakeAPI records status patches and applies them to its objects, like
// the API server, so the writer's "current" reads see what it wrote.
type fakeAPI struct {
	mu      sync.Mutex
	status  map[ident.Key]v1alpha1.ResourceStatus
	patches []string
}

func (f *fakeAPI) current(kind string, key ident.Key) (types.UID, *v1alpha1.ResourceStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[key]
	if !ok {
		return "", nil, false
	}
	return types.UID(key.String()), &st, true
}

func (f *fakeAPI) patch(_ context.Context, kind string, key ident.Key, body []byte) error {
	var p struct {
		Status v1alpha1.ResourceStatus `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[key] = p.Status
	f.patches = append(f.patches, kind+" "+key.String()+" "+string(p.Status.State))
	return nil
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.patches)
}

func newTestWriter(t *testing.T, reports *fakeReports, api *fakeAPI, qps float64, burst int) *StatusWriter {
	st := store.New()
	if err := st.Update(func(tx *store.WriteTxn) error {
		g := group("g", 3, 1, 1)
		return tx.Put(SourceName, store.Entry{Obj: g})
	}); err != nil {
		t.Fatal(err)
	}
	w := newStatusWriter(StatusConfig{Store: st, Reports: reports, Interval: time.Hour, Coalesce: 20 * time.Millisecond, QPS: qps, Burst: burst})
	w.current = api.current
	w.patch = api.patch
	return w
}

func TestStatusWriterCoalesces(t *testing.T) {
	reports := &fakeReports{}
	api := &fakeAPI{status: map[ident.Key]v1alpha1.ResourceStatus{{Namespace: "default", Name: "g"}: {}}}
	w := newTestWriter(t, reports, api, 1000, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports.set(controlplane.ResourceStatus{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g", State: "Accepted"})
	go w.Run(ctx)
	eventually(t, "first write", func() bool { return api.count() == 1 })

	// A burst of 100 report changes, each followed by a Trigger, ends in
	// a handful of writes carrying the last state.
	for i := 0; i < 100; i++ {
		state := "Warning"
		if i%2 == 1 {
			state = "Rejected"
		}
		reports.set(controlplane.ResourceStatus{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g", State: state, Reason: "spec: r"})
		w.Trigger()
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := api.count(); n > 10 {
		t.Fatalf("%d writes for a burst of 100 changes", n)
	}
	uid, cur, _ := api.current(v1alpha1.KindUpstreamGroup, ident.Key{Namespace: "default", Name: "g"})
	if cur.State != v1alpha1.StateRejected || cur.Reason != "spec: r" || cur.ObservedGeneration != 3 {
		t.Fatalf("final status %+v (uid %s)", cur, uid)
	}

	// Nothing changed: a trigger writes nothing.
	n := api.count()
	w.Trigger()
	time.Sleep(60 * time.Millisecond)
	if api.count() != n {
		t.Fatalf("unchanged report rewritten")
	}

	// A NACK is written with the report, then cleared.
	ref := ident.Ref{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g"}
	reports.mu.Lock()
	reports.nacks = map[ident.Ref][]v1alpha1.NackStatus{ref: {{Node: "n1", TypeURL: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", Version: "7", Message: "bad", Time: metav1.NewTime(time.Now().Truncate(time.Second))}}}
	reports.mu.Unlock()
	w.Trigger()
	eventually(t, "nack written", func() bool {
		_, cur, _ := api.current(ref.Kind, ident.Key{Namespace: "default", Name: "g"})
		return len(cur.Nacks) == 1 && cur.Nacks[0].Message == "bad"
	})
	reports.mu.Lock()
	reports.nacks = nil
	reports.mu.Unlock()
	w.Trigger()
	eventually(t, "nack cleared", func() bool {
		_, cur, _ := api.current(ref.Kind, ident.Key{Namespace: "default", Name: "g"})
		return len(cur.Nacks) == 0
	})
}

func TestStatusWriterRateLimits(t *testing.T) {
	reports := &fakeReports{}
	api := &fakeAPI{status: map[ident.Key]v1alpha1.ResourceStatus{}}
	var list []controlplane.ResourceStatus
	for i := 0; i < 12; i++ {
		name := string(rune('a' + i))
		api.status[ident.Key{Namespace: "default", Name: name}] = v1alpha1.ResourceStatus{}
		list = append(list, controlplane.ResourceStatus{Kind: v1alpha1.KindUpstream, Namespace: "default", Name: name, State: "Accepted"})
	}
	// Canaries are CanaryStatus's business, never the writer's.
	api.status[ident.Key{Namespace: "default", Name: "cn"}] = v1alpha1.ResourceStatus{}
	list = append(list, controlplane.ResourceStatus{Kind: v1alpha1.KindCanary, Namespace: "default", Name: "cn", State: "Accepted"})
	reports.set(list...)
	// 20/s with a burst of 2: 12 writes take at least 0.5s.
	w := newTestWriter(t, reports, api, 20, 2)
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	eventually(t, "all written", func() bool { return api.count() == 12 })
	if took := time.Since(start); took < 450*time.Millisecond {
		t.Fatalf("12 writes in %v: not rate limited", took)
	}
	if _, cn, _ := api.current(v1alpha1.KindCanary, ident.Key{Namespace: "default", Name: "cn"}); cn.State != "" {
		t.Fatal("canary status written by the status writer")
	}
}

func TestStatusPatchClearsEmptyFields(t *testing.T) {
	b, err := statusPatch(v1alpha1.ResourceStatus{State: v1alpha1.StateAccepted, ObservedGeneration: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":{"nacks":null,"observedGeneration":2,"reason":null,"serving":null,"state":"Accepted"}}`
	if string(b) != want {
		t.Fatalf("patch %s\nwant %s", b, want)
	}
}

// A Rejected report that serves the last accepted version: the status keeps
// the rejection's reason and says which version is served (generation and
// when it was accepted); once accepted again, serving is cleared.
func TestStatusWriterServing(t *testing.T) {
	reports := &fakeReports{}
	key := ident.Key{Namespace: "default", Name: "g"}
	api := &fakeAPI{status: map[ident.Key]v1alpha1.ResourceStatus{key: {}}}
	w := newTestWriter(t, reports, api, 1000, 1000)
	at := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	reason := "spec.destinations[1].weight: Invalid value: -1: must be >= 0"
	reports.set(controlplane.ResourceStatus{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g",
		State: "Rejected", Reason: reason, Serving: &translator.Served{Rev: 9, Generation: 2, At: at}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	eventually(t, "serving written", func() bool { return api.count() == 1 })
	_, cur, _ := api.current(v1alpha1.KindUpstreamGroup, key)
	if cur.State != v1alpha1.StateRejected || cur.Reason != reason || cur.ObservedGeneration != 3 ||
		cur.Serving == nil || cur.Serving.Generation != 2 || !cur.Serving.AcceptedAt.Time.Equal(at.Truncate(time.Second)) {
		t.Fatalf("status %+v serving %+v", cur, cur.Serving)
	}
	// What comes back has whole seconds: not a difference to write again.
	w.Trigger()
	time.Sleep(60 * time.Millisecond)
	if n := api.count(); n != 1 {
		t.Fatalf("%d writes: the same serving rewritten", n)
	}

	reports.set(controlplane.ResourceStatus{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g", State: "Accepted"})
	w.Trigger()
	eventually(t, "serving cleared", func() bool {
		_, cur, _ := api.current(v1alpha1.KindUpstreamGroup, key)
		return cur.State == v1alpha1.StateAccepted && cur.Serving == nil && cur.Reason == ""
	})
}
