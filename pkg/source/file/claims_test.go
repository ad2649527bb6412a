package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

func withClock(c *fakeClock) Option { return func(s *Source) { s.now = c.now } }

func groupYAML(name string, wa, wb int) string {
	return "apiVersion: serin.dev/v1alpha1\nkind: UpstreamGroup\nmetadata:\n  name: " + name + "\nspec:\n  destinations:\n" +
		"  - destination: {upstream: {name: a}}\n    weight: " + itoa(wa) + "\n" +
		"  - destination: {upstream: {name: b}}\n    weight: " + itoa(wb) + "\n"
}

// group returns a group's weights and file, "90/10@z.yaml".
func group(t *testing.T, st *store.Store, name string) string {
	t.Helper()
	tx := st.Read()
	g, ok := tx.UpstreamGroup(ident.Key{Namespace: "default", Name: name})
	if !ok {
		return "none"
	}
	o, _ := tx.Origin(v1alpha1.KindUpstreamGroup, ident.KeyOf(g))
	var w []string
	for _, d := range g.Spec.Destinations {
		w = append(w, itoa(int(d.Weight)))
	}
	return strings.Join(w, "/") + "@" + filepath.Base(o.File)
}

// A live group keeps its file when a newcomer defines it again, even one
// whose path sorts first: the oldest claim wins, and the newcomer is the
// error, naming the holder. When the holder lets go, the newcomer has it.
func TestSourceOldestClaimWins(t *testing.T) {
	dir := t.TempDir()
	z, aaa := filepath.Join(dir, "z.yaml"), filepath.Join(dir, "aaa-dup.yaml")
	writeFile(t, z, groupYAML("dup", 90, 10))
	clock := newFakeClock()
	s, st := newSource(t, dir, withClock(clock))
	first := clock.t
	clock.add(time.Minute)

	writeFile(t, aaa, groupYAML("dup", 50, 50))
	mustLoad(t, s)
	if got := group(t, st, "dup"); got != "90/10@z.yaml" {
		t.Errorf("group %s, want z.yaml's 90/10", got)
	}
	want := "UpstreamGroup default/dup: already defined at " + z + ":1 (the oldest claim wins); this definition is ignored"
	if errs := s.Errors(); len(errs) != 1 || errs[0].File != aaa || errs[0].Message != want {
		t.Errorf("errors %+v\nwant %s: %q", errs, aaa, want)
	}
	// Reloads and edits keep it so.
	writeFile(t, z, groupYAML("dup", 80, 20))
	mustLoad(t, s)
	if got := group(t, st, "dup"); got != "80/20@z.yaml" {
		t.Errorf("group %s, want z.yaml's 80/20", got)
	}

	t.Log("the holder drops it: the newcomer has it, and the claim time goes on")
	if err := os.Remove(z); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s)
	if got := group(t, st, "dup"); got != "50/50@aaa-dup.yaml" {
		t.Errorf("group %s, want aaa-dup.yaml's 50/50", got)
	}
	if errs := s.Errors(); len(errs) != 0 {
		t.Errorf("errors %+v", errs)
	}
	g, _ := st.Read().UpstreamGroup(ident.Key{Namespace: "default", Name: "dup"})
	if ts := g.GetCreationTimestamp(); !ts.Time.Equal(first) {
		t.Errorf("creationTimestamp %v, want the first claim's %v", ts.Time, first)
	}

	t.Log("at start-up with nothing known, path order decides")
	writeFile(t, z, groupYAML("dup", 90, 10))
	_, st2 := newSource(t, dir)
	if got := group(t, st2, "dup"); got != "50/50@aaa-dup.yaml" {
		t.Errorf("fresh source: group %s, want the first path's", got)
	}
}

// upstreamTimes lists "name@creationTimestamp-offset/rev" for the store's Upstreams.
func upstreamStamps(st *store.Store, base time.Time) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, u := range st.Read().Upstreams() {
		out[u.Name] = u.CreationTimestamp.Sub(base)
	}
	return out
}

func upstreamRevs(st *store.Store) map[string]uint64 {
	out := map[string]uint64{}
	for _, o := range store.Objects[*v1alpha1.Upstream](st.Read(), v1alpha1.KindUpstream) {
		out[o.Obj.Name] = o.Rev
	}
	return out
}

// Objects are stamped with when the source first saw them: the same time
// for everything in the first load, kept across reloads and edits, new for
// an object that was deleted and comes back; a time the file sets is
// ignored (it would win every oldest-claim conflict).
// The stamp never makes an unchanged object a change.
func TestSourceClaimTimes(t *testing.T) {
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "c.yaml")
	writeFile(t, a, upstreamYAML("a", 1)+"---\n"+upstreamYAML("a2", 2))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 3)+"---\n"+
		"apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata:\n  name: fixed\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\nspec: {static: {hosts: [{addr: x, port: 1}]}}\n")
	clock := newFakeClock()
	t0 := clock.t
	s, st := newSource(t, dir, withClock(clock))
	check := func(want map[string]time.Duration) {
		t.Helper()
		got := upstreamStamps(st, t0)
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s stamped t0%+v, want t0%+v", name, got[name], w)
			}
		}
	}
	check(map[string]time.Duration{"a": 0, "a2": 0, "b": 0, "fixed": 0})

	clock.add(time.Minute)
	writeFile(t, c, upstreamYAML("c", 4))
	mustLoad(t, s)
	check(map[string]time.Duration{"a": 0, "a2": 0, "b": 0, "c": time.Minute, "fixed": 0})

	t.Log("an edit keeps the time; its unchanged neighbour stays the same revision")
	revs := upstreamRevs(st)
	clock.add(time.Minute)
	writeFile(t, a, upstreamYAML("a", 10)+"---\n"+upstreamYAML("a2", 2))
	mustLoad(t, s)
	check(map[string]time.Duration{"a": 0, "a2": 0, "c": time.Minute})
	now := upstreamRevs(st)
	if now["a"] == revs["a"] || now["a2"] != revs["a2"] || now["b"] != revs["b"] {
		t.Errorf("revisions %v after editing a, were %v: want only a's bumped", now, revs)
	}
	gen := st.Generation()
	mustLoad(t, s)
	if st.Generation() != gen {
		t.Error("a reload of an unchanged tree bumped the generation")
	}

	t.Log("deleted, then back: a new claim")
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s)
	clock.add(time.Minute)
	writeFile(t, c, upstreamYAML("c", 4))
	mustLoad(t, s)
	check(map[string]time.Duration{"a": 0, "c": 3 * time.Minute})

	if _, _, err := LoadPaths(dir); err != nil {
		t.Fatal(err)
	}
	objs, _, _ := LoadPaths(dir)
	for _, o := range objs {
		if ts := o.Obj.GetCreationTimestamp(); !ts.IsZero() && o.Key.Name != "fixed" {
			t.Errorf("LoadPaths stamped %s with %v", o, ts)
		}
	}
}

// With a claims file, a restart keeps the claim times (and the holders);
// an unreadable file is a warning and a fresh start, and is replaced.
func TestSourceClaimsFile(t *testing.T) {
	dir := t.TempDir()
	claims := filepath.Join(t.TempDir(), "state", "claims.json")
	writeFile(t, filepath.Join(dir, "z.yaml"), upstreamYAML("a", 1))
	clock := newFakeClock()
	t0 := clock.t
	newSource(t, dir, withClock(clock), WithClaimsFile(claims))
	b, err := os.ReadFile(claims)
	if err != nil {
		t.Fatalf("claims file not written: %v", err)
	}
	if !strings.Contains(string(b), `"name": "a"`) {
		t.Errorf("claims file:\n%s", b)
	}

	t.Log("restart: the first-seen time and the holder survive")
	clock.add(time.Hour)
	writeFile(t, filepath.Join(dir, "aaa.yaml"), upstreamYAML("a", 2)+"---\n"+upstreamYAML("n", 3))
	s, st := newSource(t, dir, withClock(clock), WithClaimsFile(claims))
	if got := upstreamStamps(st, t0); got["a"] != 0 || got["n"] != time.Hour {
		t.Errorf("stamps after restart %v, want a at t0, n at t0+1h", got)
	}
	if got := strings.Join(upstreams(st), " "); got != "a:1@z.yaml n:3@aaa.yaml" {
		t.Errorf("upstreams %q: z.yaml holds a", got)
	}
	if len(s.Errors()) != 1 {
		t.Errorf("errors %+v", s.Errors())
	}

	t.Log("corrupt: a warning, a fresh start, a good file again")
	writeFile(t, claims, `{"version": 1, "claims": [`)
	var logs lockedBuffer
	clock.add(time.Hour)
	_, st = newSource(t, dir, withClock(clock), WithClaimsFile(claims), WithLogger(newTextLogger(&logs)))
	if !strings.Contains(logs.String(), "level=WARN msg=\"claims file unreadable; claim times start over\"") {
		t.Errorf("log:\n%s", logs.String())
	}
	if got := upstreamStamps(st, t0); got["a"] != 2*time.Hour || got["n"] != 2*time.Hour {
		t.Errorf("stamps after a corrupt claims file %v, want all t0+2h", got)
	}
	if c, err := readClaims(claims); err != nil || len(c) != 2 {
		t.Errorf("claims file after the fresh start: %v, %v", c, err)
	}
}
