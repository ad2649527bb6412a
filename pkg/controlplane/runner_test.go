package controlplane

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
)

// logBuffer collects a runner's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the log lines that contain s.
func (l *logBuffer) lines(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

const appYAML = `apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: a}
spec: {static: {hosts: [{addr: 10.6.0.1, port: 80}]}}
---
apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: b}
spec: {static: {hosts: [{addr: 10.6.0.2, port: 80}]}}
---
apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata: {name: g}
spec:
  destinations:
  - destination: {upstream: {name: a}}
    weight: WA
  - destination: {upstream: {name: b}}
    weight: WB
---
apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    domains: [app.example.com]
    routes:
    - routeAction: {upstreamGroup: {name: g}}
`

// fileWorld is a real file source and store under a runner.
type fileWorld struct {
	dir, path string
	src       *file.Source
	st        *store.Store
	cache     *snapshot.Cache
	reg       *prometheus.Registry
	logs      *logBuffer
	r         *Runner
	clock     time.Time
}

func newFileWorld(t *testing.T) *fileWorld {
	t.Helper()
	w := &fileWorld{dir: t.TempDir(), st: store.New(), logs: &logBuffer{}, reg: prometheus.NewRegistry(),
		clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	w.path = filepath.Join(w.dir, "app.yaml")
	w.write(t, "90", "10")
	var err error
	if w.src, err = file.New(w.dir, w.st, file.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))); err != nil {
		t.Fatal(err)
	}
	w.cache = snapshot.NewCache()
	t.Cleanup(w.cache.Close)
	w.r = New(Config{
		Store: w.st, Cache: w.cache, Metrics: NewMetrics(w.reg), LineOf: w.src.LineOf,
		Log: slog.New(slog.NewTextHandler(w.logs, nil)),
	})
	w.r.now = func() time.Time { return w.clock }
	return w
}

func (w *fileWorld) write(t *testing.T, wa, wb string) {
	t.Helper()
	y := strings.NewReplacer("WA", wa, "WB", wb).Replace(appYAML)
	if err := os.WriteFile(w.path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if w.src != nil {
		if err := w.src.Load(); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *fileWorld) report(t *testing.T, ref ident.Ref) translator.Report {
	t.Helper()
	rep, ok := w.r.Reports().Get(ref)
	if !ok {
		t.Fatalf("no report for %s", ref)
	}
	return rep
}

var (
	refG  = ident.Ref{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g"}
	refA  = ident.Ref{Kind: v1alpha1.KindUpstream, Namespace: "default", Name: "a"}
	refVS = ident.Ref{Kind: v1alpha1.KindVirtualService, Namespace: "default", Name: "vs"}
)

func sameMap[K comparable, V any](a, b map[K]V) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func groupWeights(t *testing.T, obj any) []int64 {
	t.Helper()
	g, ok := obj.(*v1alpha1.UpstreamGroup)
	if !ok {
		t.Fatalf("accepted object %T, want *UpstreamGroup", obj)
	}
	var w []int64
	for _, d := range g.Spec.Destinations {
		w = append(w, d.Weight)
	}
	return w
}

// The runner remembers the last accepted version of every object and
// hands it to each translation (Input.LastAccepted): a group accepted at
// 90/10 and then edited to an invalid weight stays recorded at 90/10, with
// the time it was first accepted; the map is replaced, never edited, and
// only when something changed; a deleted object leaves it.
func TestRunnerKeepsLastAccepted(t *testing.T) {
	w := newFileWorld(t)
	t0 := w.clock
	w.r.translate()
	first := w.r.accepted
	for _, ref := range []ident.Ref{refA, refG, refVS} {
		if a, ok := first[ref]; !ok || a.Rev == 0 || !a.At.Equal(t0) {
			t.Errorf("accepted[%s] = %+v, %v; want its revision at t0", ref, a, ok)
		}
	}
	if got := groupWeights(t, first[refG].Obj); !reflect.DeepEqual(got, []int64{90, 10}) {
		t.Errorf("accepted group weights %v", got)
	}
	if in := w.r.input(w.st.Read()); !sameMap(in.LastAccepted, first) {
		t.Error("the next input does not carry the runner's map")
	}

	t.Log("nothing changed: the same map")
	w.clock = w.clock.Add(time.Minute)
	w.r.translate()
	if !sameMap(w.r.accepted, first) {
		t.Error("an unchanged translation built a new map")
	}

	t.Log("edited to an invalid weight: Rejected, the 90/10 version stays recorded")
	saved := cloneMap(first)
	w.write(t, "90", "-1")
	w.clock = w.clock.Add(time.Minute)
	w.r.translate()
	if rep := w.report(t, refG); rep.State != v1alpha1.StateRejected {
		t.Fatalf("group report %+v, want Rejected", rep)
	}
	g := w.r.accepted[refG]
	if got := groupWeights(t, g.Obj); !reflect.DeepEqual(got, []int64{90, 10}) || !g.At.Equal(t0) || g.Rev != first[refG].Rev {
		t.Errorf("accepted group %v at %v rev %d, want 90/10 at t0 rev %d", got, g.At, g.Rev, first[refG].Rev)
	}
	if !reflect.DeepEqual(cloneMap(first), saved) {
		t.Error("the map handed to the translator was changed in place")
	}
	if in := w.r.input(w.st.Read()); in.LastAccepted[refG].Rev != first[refG].Rev {
		t.Error("the next input does not carry the 90/10 version")
	}

	t.Log("fixed: the new version is recorded, at the time it was accepted")
	w.write(t, "80", "20")
	w.clock = w.clock.Add(time.Minute)
	fixedAt := w.clock
	before := w.r.accepted
	w.r.translate()
	g = w.r.accepted[refG]
	if got := groupWeights(t, g.Obj); !reflect.DeepEqual(got, []int64{80, 20}) || !g.At.Equal(fixedAt) {
		t.Errorf("accepted group %v at %v, want 80/20 at %v", got, g.At, fixedAt)
	}
	if sameMap(before, w.r.accepted) || groupWeights(t, before[refG].Obj)[0] != 90 {
		t.Error("the previous map was changed in place")
	}
	if a := w.r.accepted[refA]; !a.At.Equal(t0) {
		t.Errorf("unchanged Upstream a re-recorded at %v", a.At)
	}

	t.Log("deleted: gone from the map")
	if err := os.WriteFile(w.path, []byte(strings.SplitN(appYAML, "---\napiVersion: serin.dev/v1alpha1\nkind: UpstreamGroup", 2)[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.src.Load(); err != nil {
		t.Fatal(err)
	}
	w.r.translate()
	if _, ok := w.r.accepted[refG]; ok {
		t.Error("a deleted group is still recorded")
	}
	if _, ok := w.r.accepted[refA]; !ok {
		t.Error("Upstream a is no longer recorded")
	}
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var weightRE = regexp.MustCompile(`"weight":\s*(\d+)`)

// routeWeights lists the weights in the default fleet's routes.
func routeWeights(t *testing.T, c *snapshot.Cache) string {
	t.Helper()
	b, ok := c.SnapshotJSON("default")
	if !ok {
		t.Fatal("no snapshot")
	}
	var out []string
	for _, m := range weightRE.FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	return strings.Join(out, "/")
}

// only reports whether weights (a/b/a/b...) repeat one split, every route
// config the route appears in.
func only(weights, split string) bool {
	return weights != "" && strings.ReplaceAll(weights+"/", split+"/", "") == ""
}

// End to end: the group edited to an invalid weight keeps serving 90/10.
func TestRunnerServesLastAccepted(t *testing.T) {
	w := newFileWorld(t)
	w.r.translate()
	if got := routeWeights(t, w.cache); !only(got, "90/10") {
		t.Fatalf("route weights %s, want 90/10", got)
	}
	w.write(t, "90", "-1")
	w.r.translate()
	rep := w.report(t, refG)
	if rep.State != v1alpha1.StateRejected {
		t.Fatalf("group report %+v, want Rejected", rep)
	}
	if rep.Serving == nil {
		t.Fatalf("group report %+v does not say which version is served", rep)
	}
	if got := routeWeights(t, w.cache); !only(got, "90/10") {
		t.Errorf("route weights %s after the bad edit, want the last accepted 90/10", got)
	}
	if rep.Serving.Rev != w.r.accepted[refG].Rev {
		t.Errorf("serving rev %d, want %d", rep.Serving.Rev, w.r.accepted[refG].Rev)
	}
	if got := gauge(t, w.reg, "serin_objects_serving_last_accepted", map[string]string{"kind": v1alpha1.KindUpstreamGroup}); got != 1 {
		t.Errorf("serin_objects_serving_last_accepted{kind=UpstreamGroup} = %v, want 1", got)
	}
	if lines := w.logs.lines("its last accepted version is still served"); len(lines) != 1 {
		t.Errorf("serving log lines %q", lines)
	}
}

// gauge reads one gauge from the registry.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// lineOf returns the 1-based line of the first line of the file that
// contains s.
func lineOf(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s has no %q", path, s)
	return 0
}

// A rejection is logged once at WARN, at the file:line of its problem,
// with the reason; again only when the reason changes; and its end once.
// serin_objects counts objects by kind and state after each translation.
func TestRunnerLogsRejectionsOnceAndCountsStates(t *testing.T) {
	w := newFileWorld(t)
	w.r.translate()
	if got := gauge(t, w.reg, "serin_objects", map[string]string{"kind": "UpstreamGroup", "state": "Accepted"}); got != 1 {
		t.Errorf("serin_objects{UpstreamGroup,Accepted} = %v, want 1", got)
	}

	w.write(t, "90", "-1")
	w.r.translate()
	w.r.translate()
	lines := w.logs.lines("object rejected")
	if len(lines) != 1 {
		t.Fatalf("rejection logged %d times: %q", len(lines), lines)
	}
	at := w.path + ":" + itoa(lineOf(t, w.path, "weight: -1"))
	for _, want := range []string{"level=WARN", "kind=UpstreamGroup", "object=default/g", "origin=" + at, "reason=", "spec.destinations[1].weight"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
	for state, want := range map[string]float64{"Accepted": 0, "Warning": 0, "Rejected": 1} {
		if got := gauge(t, w.reg, "serin_objects", map[string]string{"kind": "UpstreamGroup", "state": state}); got != want {
			t.Errorf("serin_objects{UpstreamGroup,%s} = %v, want %v", state, got, want)
		}
	}
	if got := gauge(t, w.reg, "serin_objects", map[string]string{"kind": "Upstream", "state": "Accepted"}); got != 2 {
		t.Errorf("serin_objects{Upstream,Accepted} = %v, want 2", got)
	}

	t.Log("another reason: logged again")
	w.write(t, "90", "-2")
	w.r.translate()
	if lines := w.logs.lines("object rejected"); len(lines) != 2 || !strings.Contains(lines[1], "-2") {
		t.Errorf("after a new reason: %q", lines)
	}

	t.Log("fixed: said once")
	w.write(t, "90", "10")
	w.r.translate()
	w.r.translate()
	if lines := w.logs.lines("object no longer rejected"); len(lines) != 1 || !strings.Contains(lines[0], "object=default/g") {
		t.Errorf("after the fix: %q", lines)
	}
	if got := gauge(t, w.reg, "serin_objects", map[string]string{"kind": "UpstreamGroup", "state": "Rejected"}); got != 0 {
		t.Errorf("serin_objects{UpstreamGroup,Rejected} = %v, want 0", got)
	}
}

// A Rejected report that serves its last accepted version says so in the
// log and in serin_objects_serving_last_accepted (reports as the
// translator's half makes them).
func TestRunnerRejectedServingReport(t *testing.T) {
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := New(Config{Store: store.New(), Log: slog.New(slog.NewTextHandler(logs, nil)), Metrics: m})
	acceptedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reps := []translator.Report{
		{Ref: refG, State: v1alpha1.StateRejected, Reason: "spec.destinations[1].weight: Invalid value: -1: must be >= 0",
			Serving: &translator.Served{Rev: 7, At: acceptedAt}},
		{Ref: refA, State: v1alpha1.StateAccepted},
	}
	r.logRejections(reps, r.cfg.Store.Read())
	m.observeReports(reps)
	r.logRejections(reps, r.cfg.Store.Read())
	lines := logs.lines("object rejected")
	if len(lines) != 1 || !strings.Contains(lines[0], "its last accepted version is still served") ||
		!strings.Contains(lines[0], "serving_accepted_at=2026-01-02T03:04:05Z") {
		t.Errorf("log %q", lines)
	}
	if got := gauge(t, reg, "serin_objects_serving_last_accepted", map[string]string{"kind": "UpstreamGroup"}); got != 1 {
		t.Errorf("serin_objects_serving_last_accepted{UpstreamGroup} = %v, want 1", got)
	}
	if got := gauge(t, reg, "serin_objects", map[string]string{"kind": "UpstreamGroup", "state": "Rejected"}); got != 1 {
		t.Errorf("serin_objects{UpstreamGroup,Rejected} = %v, want 1", got)
	}
}

// nextAccepted on its own: a report that serves an earlier version (Serving
// set) records nothing; revisions 0 compare by identity.
func TestNextAcceptedRules(t *testing.T) {
	g1 := &v1alpha1.UpstreamGroup{}
	g1.Name, g1.Namespace = "g", "default"
	in := &translator.Input{UpstreamGroups: translator.Objects(g1)}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := nextAccepted(nil, in, []translator.Report{{Ref: refG, State: v1alpha1.StateWarning}}, t0)
	if a := m[refG]; a.Obj != any(g1) || !a.At.Equal(t0) {
		t.Fatalf("recorded %+v", a)
	}
	if m2 := nextAccepted(m, in, []translator.Report{{Ref: refG, State: v1alpha1.StateAccepted}}, t0.Add(time.Hour)); !sameMap(m, m2) {
		t.Error("the same object re-recorded")
	}
	g2 := g1.DeepCopy()
	in2 := &translator.Input{UpstreamGroups: translator.Objects(g2)}
	if m2 := nextAccepted(m, in2, []translator.Report{{Ref: refG, State: v1alpha1.StateAccepted, Serving: &translator.Served{}}}, t0.Add(time.Hour)); !sameMap(m, m2) {
		t.Error("a report that serves an earlier version recorded its input")
	}
	if m2 := nextAccepted(m, in2, []translator.Report{{Ref: refG, State: v1alpha1.StateRejected}}, t0.Add(time.Hour)); !sameMap(m, m2) {
		t.Error("a Rejected report changed the map")
	}
	m2 := nextAccepted(m, in2, []translator.Report{{Ref: refG, State: v1alpha1.StateAccepted}}, t0.Add(time.Hour))
	if a := m2[refG]; a.Obj != any(g2) || !a.At.Equal(t0.Add(time.Hour)) || m[refG].Obj != any(g1) {
		t.Errorf("new version recorded as %+v (old map %+v)", a, m[refG])
	}
	if m3 := nextAccepted(m2, &translator.Input{}, nil, t0); len(m3) != 0 || len(m2) != 1 {
		t.Errorf("deleted: %v (old map %v)", m3, m2)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
