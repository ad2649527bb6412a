package canary

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// flaky fails Load and Releases while told to.
type flaky struct {
	*MemoryStore
	mu                    sync.Mutex
	failLoad, failRelease bool
}

var errFlaky = errors.New("api server unavailable")

func (f *flaky) set(load, rel bool) {
	f.mu.Lock()
	f.failLoad, f.failRelease = load, rel
	f.mu.Unlock()
}

func (f *flaky) Load(ctx context.Context, k ident.Key) (*v1alpha1.CanaryStatus, error) {
	f.mu.Lock()
	fail := f.failLoad
	f.mu.Unlock()
	if fail {
		return nil, errFlaky
	}
	return f.MemoryStore.Load(ctx, k)
}

func (f *flaky) Releases(k ident.Key) ([]Release, error) {
	f.mu.Lock()
	fail := f.failRelease
	f.mu.Unlock()
	if fail {
		return nil, errFlaky
	}
	return f.MemoryStore.Releases(k)
}

// A status store that cannot answer for a moment must not restart a live
// rollout: no Pending at 0%, no overwritten status; the next sync resumes.
func TestLoadErrorDoesNotRestartTheRollout(t *testing.T) {
	fl := &flaky{MemoryStore: NewMemoryStore()}
	f := newFixture(t, fl, fl, testCanary("app"))
	f.due()
	for f.view("app").Step < 3 {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	k := ident.Key{Namespace: "default", Name: "app"}
	saved, _ := fl.MemoryStore.Load(context.Background(), k)
	f.clk.Add(3 * time.Second)

	for _, c := range []struct {
		name      string
		load, rel bool
	}{{"load", true, false}, {"releases", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			fl.set(c.load, c.rel)
			f.e = f.engine() // a new leader; the store holds the mirrored 50%
			if v, ok := f.e.Get(k); ok && v.Phase != v1alpha1.PhaseProgressing {
				t.Fatalf("after a failed load: %s step %d", v.Phase, v.Step)
			}
			if w := f.weights("app"); w["default/app-v2"] != uint32(saved.Weight) {
				t.Fatalf("served weights %v, want the mirrored canary %d", w, saved.Weight)
			}
			now, _ := fl.MemoryStore.Load(context.Background(), k)
			if encode(now) != encode(saved) {
				t.Fatalf("saved status overwritten: %+v", now)
			}
			if hist, _ := fl.MemoryStore.Releases(k); len(hist) != 1 {
				t.Fatalf("%d releases, want 1", len(hist))
			}
			fl.set(false, false)
			f.clk.Add(2 * time.Second)
			f.e.sync(context.Background(), f.clk.Now())
			if v := f.view("app"); v.Phase != v1alpha1.PhaseProgressing || v.Step != saved.Step {
				t.Fatalf("after the store recovered: %s step %d, want step %d", v.Phase, v.Step, saved.Step)
			}
		})
	}
}

// A new release is never numbered without the previous ones.
func TestReleasesErrorDoesNotNumberARelease(t *testing.T) {
	fl := &flaky{MemoryStore: NewMemoryStore()}
	f := newFixture(t, fl, fl, testCanary("app"))
	f.put(testCanary("app", func(c *v1alpha1.Canary) { c.Spec.Canary.Name = "app-v3"; c.Generation = 2 }))
	fl.set(false, true)
	f.e.sync(context.Background(), f.clk.Now())
	k := ident.Key{Namespace: "default", Name: "app"}
	for _, r := range mustReleases(t, fl, k) {
		if r.Release == "default/app-v3" {
			t.Fatalf("release %d started while the log could not be read", r.Number)
		}
	}
	fl.set(false, false)
	f.clk.Add(2 * time.Second)
	f.e.sync(context.Background(), f.clk.Now())
	hist := mustReleases(t, fl, k)
	if len(hist) != 2 || hist[1].Number != 2 || hist[1].Release != "default/app-v3" {
		t.Fatalf("releases %+v, want release 2 for app-v3", hist)
	}
	if v := f.view("app"); v.Phase != v1alpha1.PhasePending || v.Release != "default/app-v3" {
		t.Fatalf("new release: %s %s", v.Phase, v.Release)
	}

	// A retry that cannot read the log fails instead of numbering 1.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.e.Run(ctx)
	if _, err := f.e.Do(ctx, k, OpAbort, false, ""); err != nil {
		t.Fatal(err)
	}
	fl.set(false, true)
	if _, err := f.e.Do(ctx, k, OpRetry, false, ""); err == nil {
		t.Fatal("retry without the release log must fail")
	}
	fl.set(false, false)
	if v, err := f.e.Do(ctx, k, OpRetry, false, ""); err != nil || v.Phase != v1alpha1.PhasePending {
		t.Fatalf("retry: %v %s", err, v.Phase)
	}
	if hist := mustReleases(t, fl, k); len(hist) != 3 || hist[2].Number != 3 {
		t.Fatalf("releases %+v, want 3", hist)
	}
}

func mustReleases(t *testing.T, l ReleaseLog, k ident.Key) []Release {
	t.Helper()
	if fl, ok := l.(*flaky); ok {
		l = fl.MemoryStore
	}
	h, err := l.Releases(k)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
