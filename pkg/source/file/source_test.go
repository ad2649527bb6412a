package file

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// upstreamYAML is a minimal Upstream document.
func upstreamYAML(name string, port int) string {
	return "apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata:\n  name: " + name +
		"\nspec:\n  static:\n    hosts:\n    - addr: 127.0.0.1\n      port: " + itoa(port) + "\n"
}

func itoa(i int) string { return strconv.Itoa(i) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// upstreams lists the store's Upstreams as "name:port@file".
func upstreams(st *store.Store) []string {
	tx := st.Read()
	var out []string
	for _, u := range tx.Upstreams() {
		port := uint32(0)
		if u.Spec.Static != nil && len(u.Spec.Static.Hosts) > 0 {
			port = u.Spec.Static.Hosts[0].Port
		}
		o, _ := tx.Origin(v1alpha1.KindUpstream, ident.KeyOf(u))
		out = append(out, u.Name+":"+itoa(int(port))+"@"+filepath.Base(o.File))
	}
	return out
}

func newSource(t *testing.T, dir string, opts ...Option) (*Source, *store.Store) {
	t.Helper()
	st := store.New()
	s, err := New(dir, st, append([]Option{WithLogger(quietLog)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, st
}

func TestSourceInitialLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1)+"---\n"+upstreamYAML("a2", 2))
	writeFile(t, filepath.Join(dir, "sub", "deeper", "b.yml"), upstreamYAML("b", 3))
	writeFile(t, filepath.Join(dir, "c.json"), `{"apiVersion":"serin.dev/v1alpha1","kind":"Upstream","metadata":{"name":"c"},"spec":{"static":{"hosts":[{"addr":"x","port":4}]}}}`)
	// None of these load.
	writeFile(t, filepath.Join(dir, ".hidden.yaml"), upstreamYAML("hidden", 5))
	writeFile(t, filepath.Join(dir, ".git", "x.yaml"), upstreamYAML("git", 5))
	writeFile(t, filepath.Join(dir, "a.yaml~"), upstreamYAML("backup", 5))
	writeFile(t, filepath.Join(dir, ".#a.yaml"), upstreamYAML("lock", 5))
	writeFile(t, filepath.Join(dir, "a.yaml.swp"), "binary")
	writeFile(t, filepath.Join(dir, "notes.txt"), "hello")

	s, st := newSource(t, dir)
	got := strings.Join(upstreams(st), " ")
	if want := "a:1@a.yaml a2:2@a.yaml b:3@b.yml c:4@c.json"; got != want {
		t.Errorf("upstreams %q, want %q", got, want)
	}
	if errs := s.Errors(); len(errs) != 0 {
		t.Errorf("errors %v", errs)
	}
	if s.Name() != "file:"+dir {
		t.Errorf("Name %q", s.Name())
	}
	tx := st.Read()
	if src, _ := tx.Source(v1alpha1.KindUpstream, ident.Key{Namespace: "default", Name: "b"}); src != "file:"+dir {
		t.Errorf("source %q", src)
	}
	if o, _ := tx.Origin(v1alpha1.KindUpstream, ident.Key{Namespace: "default", Name: "a2"}); o.Line != 11 {
		t.Errorf("origin of a2 %v, want line 11", o)
	}
}

func TestSourceMissingDir(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "nope"), store.New()); err == nil {
		t.Fatal("New on a missing directory succeeded")
	}
}

func TestSourceBrokenFileKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good.yaml"), upstreamYAML("good", 1))
	writeFile(t, filepath.Join(dir, "bad.yaml"), upstreamYAML("half", 2)+"---\napiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: x}\nspec: {statik: {}}\n")
	s, st := newSource(t, dir)
	// A file seen for the first time loads its good documents.
	if got, want := strings.Join(upstreams(st), " "), "good:1@good.yaml half:2@bad.yaml"; got != want {
		t.Errorf("upstreams %q, want %q", got, want)
	}
	errs := s.Errors()
	if len(errs) != 1 || errs[0].File != filepath.Join(dir, "bad.yaml") || errs[0].Line != 14 ||
		errs[0].Message != "Upstream default/x: spec.statik: unknown field" {
		t.Errorf("errors %+v", errs)
	}
}

func TestSourceLastKnownGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, upstreamYAML("app", 1)+"---\n"+upstreamYAML("other", 2))
	s, st := newSource(t, dir)
	gen := st.Generation()

	// Half-saved: the file now ends in the middle of the second document.
	writeFile(t, path, upstreamYAML("app", 9)+"---\napiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: [")
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(upstreams(st), " "), "app:1@app.yaml other:2@app.yaml"; got != want {
		t.Errorf("broken file: upstreams %q, want last good %q", got, want)
	}
	if st.Generation() != gen {
		t.Errorf("broken file changed the store")
	}
	if errs := s.Errors(); len(errs) != 1 || errs[0].File != path {
		t.Errorf("errors %+v", errs)
	}

	// Fixed: the new content replaces the last good one.
	writeFile(t, path, upstreamYAML("app", 9))
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(upstreams(st), " "), "app:9@app.yaml"; got != want {
		t.Errorf("fixed file: upstreams %q, want %q", got, want)
	}
	if errs := s.Errors(); len(errs) != 0 {
		t.Errorf("errors after fix %v", errs)
	}
}

func TestSourceDuplicates(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("dup", 1))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("dup", 2)+"---\n"+upstreamYAML("solo", 3))
	s, st := newSource(t, dir)
	if got, want := strings.Join(upstreams(st), " "), "dup:1@a.yaml solo:3@b.yaml"; got != want {
		t.Errorf("upstreams %q, want %q", got, want)
	}
	errs := s.Errors()
	want := "Upstream default/dup: already defined at " + filepath.Join(dir, "a.yaml") + ":1 (the oldest claim wins); this definition is ignored"
	if len(errs) != 1 || errs[0].File != filepath.Join(dir, "b.yaml") || errs[0].Line != 1 || errs[0].Message != want {
		t.Errorf("errors %+v\nwant %q", errs, want)
	}
}

func TestSourceDeleteAndNoop(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 2))
	s, st := newSource(t, dir)
	gen := st.Generation()
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if st.Generation() != gen {
		t.Errorf("reloading an unchanged tree bumped the generation")
	}
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(upstreams(st), " "); got != "a:1@a.yaml" {
		t.Errorf("after delete: %q", got)
	}
	if st.Generation() != gen+1 {
		t.Errorf("generation %d, want %d", st.Generation(), gen+1)
	}
}

func TestSourceLineOf(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	writeFile(t, path, "# comment\n"+upstreamYAML("a", 1))
	s, _ := newSource(t, dir)
	if got := s.LineOf(store.Origin{File: path, Line: 2}, "spec.static.hosts[0].port"); got != 10 {
		t.Errorf("LineOf = %d, want 10", got)
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("a", 2))
	single := filepath.Join(t.TempDir(), "single.txt") // files given by name load whatever their extension
	writeFile(t, single, upstreamYAML("s", 3))
	objs, errs, err := LoadPaths(dir, single)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(summary(objs), " "); got != "Upstream default/a@1 Upstream default/s@1" {
		t.Errorf("objects %q", got)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "already defined") {
		t.Errorf("errors %+v", errs)
	}
	if _, _, err := LoadPaths(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadPaths on a missing path succeeded")
	}
}

// fakeClock drives a source's clock by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (s *Source) setClock(c *fakeClock)  { s.mu.Lock(); s.now = c.now; s.mu.Unlock() }
func mustLoad(t *testing.T, s *Source) {
	t.Helper()
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
}

// A file that reads empty is taken to be mid-write: it keeps its objects
// until it has stayed empty for the settle time, whatever "empty" looks
// like (no bytes, whitespace, comments, separators). A file with fewer
// objects, or a deleted file, is applied at once.
func TestSourceEmptySettle(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeFile(t, a, upstreamYAML("a", 1)+"---\n"+upstreamYAML("a2", 2))
	writeFile(t, b, upstreamYAML("b", 3)+"---\n"+upstreamYAML("b2", 4))
	s, st := newSource(t, dir, WithEmptySettle(2*time.Second))
	clock := newFakeClock()
	s.setClock(clock)
	all := "a:1@a.yaml a2:2@a.yaml b:3@b.yaml b2:4@b.yaml"

	for _, empty := range []string{"", "  \n\n", "# being rewritten\n---\n---\n"} {
		gen := st.Generation()
		writeFile(t, a, empty)
		mustLoad(t, s)
		if got := strings.Join(upstreams(st), " "); got != all || st.Generation() != gen {
			t.Fatalf("emptied %q: upstreams %q (generation %d, was %d), want them kept", empty, got, st.Generation(), gen)
		}
		if got, want := s.settleDeadline(), clock.t.Add(2*time.Second); !got.Equal(want) {
			t.Errorf("settle deadline %v, want %v", got, want)
		}
		clock.add(time.Second)
		mustLoad(t, s)
		if got := strings.Join(upstreams(st), " "); got != all {
			t.Fatalf("1s later: upstreams %q", got)
		}
		// Rewritten within the settle time: applied, never removed.
		writeFile(t, a, upstreamYAML("a", 1)+"---\n"+upstreamYAML("a2", 2))
		mustLoad(t, s)
		if got := strings.Join(upstreams(st), " "); got != all || st.Generation() != gen {
			t.Fatalf("rewritten: upstreams %q (generation %d, was %d)", got, st.Generation(), gen)
		}
		if !s.settleDeadline().IsZero() {
			t.Errorf("settle deadline %v after the rewrite", s.settleDeadline())
		}
	}

	t.Log("stays empty: removed once the settle time is up")
	writeFile(t, a, "")
	mustLoad(t, s)
	clock.add(2 * time.Second)
	mustLoad(t, s)
	if got, want := strings.Join(upstreams(st), " "), "b:3@b.yaml b2:4@b.yaml"; got != want {
		t.Fatalf("upstreams %q, want %q", got, want)
	}
	if !s.settleDeadline().IsZero() {
		t.Errorf("settle deadline %v after the removal", s.settleDeadline())
	}

	t.Log("fewer objects: applied at once")
	writeFile(t, b, upstreamYAML("b", 3))
	mustLoad(t, s)
	if got, want := strings.Join(upstreams(st), " "), "b:3@b.yaml"; got != want {
		t.Fatalf("upstreams %q, want %q", got, want)
	}

	t.Log("deleted: removed at once")
	writeFile(t, a, upstreamYAML("a", 1))
	mustLoad(t, s)
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s)
	if got, want := strings.Join(upstreams(st), " "), "b:3@b.yaml"; got != want {
		t.Fatalf("upstreams %q, want %q", got, want)
	}
}

// An emptied file that cannot be read for a moment (over the size limit,
// say) still settles: its objects go once it has stayed empty for the
// settle time, and the read error goes with the next good read.
func TestSourceEmptySettleThroughAReadError(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeFile(t, a, upstreamYAML("a", 1))
	writeFile(t, b, upstreamYAML("b", 2))
	s, st := newSource(t, dir, WithEmptySettle(2*time.Second), WithLimits(Limits{MaxFileBytes: 4096}))
	clock := newFakeClock()
	s.setClock(clock)

	writeFile(t, a, "")
	mustLoad(t, s)
	writeFile(t, a, strings.Repeat("#", 8192)) // over the limit for a moment
	mustLoad(t, s)
	if len(s.Errors()) == 0 {
		t.Fatal("no error for a file over the limit")
	}
	writeFile(t, a, "")
	mustLoad(t, s)
	if errs := s.Errors(); len(errs) != 0 {
		t.Fatalf("the read error stays after a good read: %v", errs)
	}
	clock.add(3 * time.Second)
	mustLoad(t, s)
	if got, want := strings.Join(upstreams(st), " "), "b:2@b.yaml"; got != want {
		t.Fatalf("upstreams %q, want %q: the emptied file's objects are held for ever", got, want)
	}
}
