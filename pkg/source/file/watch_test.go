package file

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/store"
)

// watch starts Run on a source for dir and stops it when the test ends.
func watch(t *testing.T, dir string, opts ...Option) (*Source, *store.Store) {
	t.Helper()
	s, st := newSource(t, dir, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	// Run reloads once its watches are in place; wait for that reload so
	// that the test's changes are seen as events.
	time.Sleep(50 * time.Millisecond)
	return s, st
}

// eventually waits for the store's upstreams to read want.
func eventually(t *testing.T, st *store.Store, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(upstreams(st), " ")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstreams %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1))
	s, st := watch(t, dir, WithDebounce(20*time.Millisecond, 200*time.Millisecond))
	eventually(t, st, "a:1@a.yaml")

	t.Log("create")
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 2))
	eventually(t, st, "a:1@a.yaml b:2@b.yaml")

	t.Log("modify")
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 3))
	eventually(t, st, "a:1@a.yaml b:3@b.yaml")

	t.Log("rename")
	if err := os.Rename(filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "a:1@a.yaml b:3@c.yml")

	t.Log("rename away (to a name that is not loaded)")
	if err := os.Rename(filepath.Join(dir, "c.yml"), filepath.Join(dir, "c.yml.bak")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "a:1@a.yaml")

	t.Log("atomic save: write a temporary file, rename it over the original")
	tmp := filepath.Join(dir, ".a.yaml.tmp123")
	writeFile(t, tmp, upstreamYAML("a", 4))
	if err := os.Rename(tmp, filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "a:4@a.yaml")

	t.Log("vim-style save: rename the original to a backup, write a new file, delete the backup")
	if err := os.Rename(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "a.yaml~")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 5))
	if err := os.Remove(filepath.Join(dir, "a.yaml~")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "a:5@a.yaml")

	t.Log("new subdirectories, files written right after mkdir")
	writeFile(t, filepath.Join(dir, "team", "x", "d.yaml"), upstreamYAML("d", 6))
	eventually(t, st, "a:5@a.yaml d:6@d.yaml")
	t.Log("a later file in the new subdirectory (needs its watch)")
	writeFile(t, filepath.Join(dir, "team", "x", "e.yaml"), upstreamYAML("e", 7))
	eventually(t, st, "a:5@a.yaml d:6@d.yaml e:7@e.yaml")

	t.Log("delete a subdirectory")
	if err := os.RemoveAll(filepath.Join(dir, "team")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "a:5@a.yaml")

	t.Log("broken save keeps the last good objects")
	writeFile(t, filepath.Join(dir, "a.yaml"), "apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: [")
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Errors()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(s.Errors()) == 0 {
		t.Fatal("no error reported for the broken file")
	}
	eventually(t, st, "a:5@a.yaml")

	t.Log("delete")
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, st, "")
	if errs := s.Errors(); len(errs) != 0 {
		t.Errorf("errors of a deleted file remain: %v", errs)
	}
}

func TestWatchDebounce(t *testing.T) {
	dir := t.TempDir()
	// A long quiet period makes the burst below certainly fall inside it,
	// even on a loaded machine.
	_, st := watch(t, dir, WithDebounce(300*time.Millisecond, 5*time.Second))
	gen := st.Generation()
	var want []string
	for i := range 10 {
		name := "u" + itoa(i)
		writeFile(t, filepath.Join(dir, name+".yaml"), upstreamYAML(name, i+1))
		want = append(want, name+":"+itoa(i+1)+"@"+name+".yaml")
	}
	eventually(t, st, strings.Join(want, " "))
	time.Sleep(400 * time.Millisecond)
	if got := st.Generation() - gen; got != 1 {
		t.Errorf("a burst of 10 writes made %d store changes, want 1", got)
	}
}

func TestWatchDebounceMaxWait(t *testing.T) {
	dir := t.TempDir()
	// Writes every 20ms never leave 200ms of quiet; the 300ms cap must
	// still apply them while they keep coming.
	_, st := watch(t, dir, WithDebounce(200*time.Millisecond, 300*time.Millisecond))
	stop := time.Now().Add(1500 * time.Millisecond)
	applied := false
	for i := 0; time.Now().Before(stop); i++ {
		writeFile(t, filepath.Join(dir, "busy.yaml"), upstreamYAML("busy", i+1))
		if len(upstreams(st)) > 0 {
			applied = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !applied {
		t.Error("a steady stream of writes was never applied")
	}
}

func TestWatchDirectoryRemovedAndRecreated(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "config")
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1))
	_, st := watch(t, dir, WithDebounce(20*time.Millisecond, 200*time.Millisecond))
	eventually(t, st, "a:1@a.yaml")

	// Regenerate the directory the way "rm -rf out && build -o out" does.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 2))
	eventually(t, st, "a:2@a.yaml")

	// And it is watched again.
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 3))
	eventually(t, st, "a:2@a.yaml b:3@b.yaml")
}

// A subdirectory replaced within one debounce window (rm -rf sub; cp -r
// new sub) is watched again: later edits in it are not lost.
func TestWatchReplacedSubdirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "team")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "a.yaml"), upstreamYAML("a", 1))
	_, st := watch(t, dir, WithDebounce(50*time.Millisecond, 500*time.Millisecond))
	eventually(t, st, "a:1@a.yaml")

	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "a.yaml"), upstreamYAML("a", 2))
	eventually(t, st, "a:2@a.yaml")

	time.Sleep(200 * time.Millisecond)
	writeFile(t, filepath.Join(sub, "a.yaml"), upstreamYAML("a", 3))
	eventually(t, st, "a:3@a.yaml")
}

// lockedBuffer is a log sink safe for Run's goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits for the log to contain s.
func waitLog(t *testing.T, l *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log does not say %q:\n%s", s, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An editor that truncates a file and writes it later: the objects never
// leave the store. A file that stays empty loses its objects once the
// settle time is up, with no further event: Run schedules that reload.
func TestWatchEmptySettle(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	writeFile(t, a, upstreamYAML("a", 1))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 2))
	var logs lockedBuffer
	const settle = 500 * time.Millisecond
	_, st := watch(t, dir, WithDebounce(20*time.Millisecond, 200*time.Millisecond), WithEmptySettle(settle),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	eventually(t, st, "a:1@a.yaml b:2@b.yaml")

	t.Log("truncate, then write within the settle time")
	gen := st.Generation()
	writeFile(t, a, "")
	waitLog(t, &logs, "file emptied; keeping its 1 objects until it stays empty for 500ms")
	if got := strings.Join(upstreams(st), " "); got != "a:1@a.yaml b:2@b.yaml" {
		t.Fatalf("after the truncation: %q", got)
	}
	writeFile(t, a, upstreamYAML("a", 3))
	eventually(t, st, "a:3@a.yaml b:2@b.yaml")
	if st.Generation() != gen+1 {
		t.Errorf("generation %d, want %d: the objects left the store in between", st.Generation(), gen+1)
	}
	time.Sleep(settle + 100*time.Millisecond)
	eventually(t, st, "a:3@a.yaml b:2@b.yaml")

	t.Log("truncate and wait")
	start := time.Now()
	writeFile(t, a, "")
	eventually(t, st, "b:2@b.yaml")
	if took := time.Since(start); took < settle {
		t.Errorf("removed after %v, before the settle time %v", took, settle)
	}
	waitLog(t, &logs, "file stayed empty for 500ms; removing its 1 objects")
}

func newTextLogger(l *lockedBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
