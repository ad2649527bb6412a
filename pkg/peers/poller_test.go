package peers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/load"
)

// fakePeer is a replica's admin API: its instance id and cumulative totals.
type fakePeer struct {
	mu       sync.Mutex
	instance string
	totals   map[string][2]uint64 // cluster -> successful, error
	status   int
	srv      *httptest.Server
}

func newFakePeer(t *testing.T, instance string) *fakePeer {
	p := &fakePeer{instance: instance, totals: map[string][2]uint64{}, status: http.StatusOK}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != LoadReportsPath {
			http.NotFound(w, r)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.status != http.StatusOK {
			w.WriteHeader(p.status)
			return
		}
		out := []load.Totals{}
		for c, v := range p.totals {
			out = append(out, load.Totals{Cluster: c, Successful: v[0], Error: v[1], Reports: 1})
		}
		w.Header().Set(InstanceHeader, p.instance)
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// add serves more load on a cluster.
func (p *fakePeer) add(cluster string, ok, failed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.totals[cluster]
	p.totals[cluster] = [2]uint64{v[0] + ok, v[1] + failed}
}

// restart starts the peer over: a new instance id, totals from zero.
func (p *fakePeer) restart(instance string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.instance, p.totals = instance, map[string][2]uint64{}
}

// recorder is the sink: the sum per cluster.
type recorder struct {
	mu  sync.Mutex
	got map[string][2]uint64
}

func (r *recorder) sink(cluster string, ok, failed uint64, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][2]uint64{}
	}
	v := r.got[cluster]
	r.got[cluster] = [2]uint64{v[0] + ok, v[1] + failed}
}

// take returns and clears what the sink received.
func (r *recorder) take() map[string][2]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	if out == nil {
		out = map[string][2]uint64{}
	}
	return out
}

func expect(t *testing.T, what string, got map[string][2]uint64, want map[string][2]uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for c, v := range want {
		if got[c] != v {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

type urls struct {
	mu   sync.Mutex
	list []string
	err  error
}

func (u *urls) set(list ...string) { u.mu.Lock(); u.list = list; u.mu.Unlock() }
func (u *urls) discover(context.Context) ([]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.list...), u.err
}

func newTestPoller(t *testing.T, self string, d Discover, sink Sink, leader func() bool) *Poller {
	t.Helper()
	p, err := New(Config{Self: self, Discover: d, Sink: sink, IsLeader: leader})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPollerDeltas(t *testing.T) {
	ctx := context.Background()
	self := newFakePeer(t, "me")
	a, b := newFakePeer(t, "a1"), newFakePeer(t, "b1")
	self.add("c", 1000, 0) // our own clients reach the engine directly
	a.add("c", 100, 10)    // traffic from before the first poll: baseline
	var rec recorder
	var u urls
	u.set(self.srv.URL, a.srv.URL, b.srv.URL+"/")
	p := newTestPoller(t, "me", u.discover, rec.sink, nil)

	p.Poll(ctx)
	expect(t, "first sight is a baseline", rec.take(), nil)

	a.add("c", 5, 1)
	b.add("c", 7, 0)
	b.add("d", 3, 3)
	self.add("c", 50, 50)
	p.Poll(ctx)
	expect(t, "deltas of both peers, none of ourselves", rec.take(), map[string][2]uint64{"c": {12, 1}, "d": {3, 3}})

	p.Poll(ctx)
	expect(t, "nothing new", rec.take(), nil)

	// a restarts (new id) and serves 4 calls before the next poll: its
	// totals are lower, and all of them are new.
	a.restart("a2")
	a.add("c", 4, 0)
	p.Poll(ctx)
	expect(t, "restart", rec.take(), map[string][2]uint64{"c": {4, 0}})

	// b restarts and serves more than it had before: the id tells.
	b.restart("b2")
	b.add("c", 20, 0)
	p.Poll(ctx)
	expect(t, "restart past the old totals", rec.take(), map[string][2]uint64{"c": {20, 0}})
}

func TestTrackerTotalDown(t *testing.T) {
	tr := newTracker()
	lt := func(ok, failed uint64) []load.Totals {
		return []load.Totals{{Cluster: "c", Successful: ok, Error: failed}}
	}
	if d := tr.observe("u", "", lt(100, 5)); d != nil {
		t.Fatalf("first sight: %v", d)
	}
	if d := tr.observe("u", "", lt(110, 5)); len(d) != 1 || d[0] != (Delta{"c", 10, 0}) {
		t.Fatalf("growth: %v", d)
	}
	// Without an id, a total that went down is a restart.
	if d := tr.observe("u", "", lt(3, 1)); len(d) != 1 || d[0] != (Delta{"c", 3, 1}) {
		t.Fatalf("total down: %v", d)
	}
}

func TestPollerPeerVanishes(t *testing.T) {
	ctx := context.Background()
	a, b := newFakePeer(t, "a"), newFakePeer(t, "b")
	var rec recorder
	var u urls
	u.set(a.srv.URL, b.srv.URL)
	p := newTestPoller(t, "me", u.discover, rec.sink, nil)
	p.Poll(ctx)

	// b leaves discovery: only a counts, and b's state is forgotten.
	u.set(a.srv.URL)
	a.add("c", 1, 0)
	b.add("c", 100, 0)
	p.Poll(ctx)
	expect(t, "b gone", rec.take(), map[string][2]uint64{"c": {1, 0}})

	// b comes back: a baseline again, so its load while away never counts.
	u.set(a.srv.URL, b.srv.URL)
	p.Poll(ctx)
	expect(t, "b back: baseline", rec.take(), nil)
	b.add("c", 2, 0)
	p.Poll(ctx)
	expect(t, "b counts again", rec.take(), map[string][2]uint64{"c": {2, 0}})

	// b fails to answer: nothing counts, its baseline stays, and the next
	// answer carries what was missed.
	b.mu.Lock()
	b.status = http.StatusServiceUnavailable
	b.mu.Unlock()
	b.add("c", 5, 0)
	p.Poll(ctx)
	expect(t, "b failing", rec.take(), nil)
	b.mu.Lock()
	b.status = http.StatusOK
	b.mu.Unlock()
	p.Poll(ctx)
	expect(t, "b answers again", rec.take(), map[string][2]uint64{"c": {5, 0}})

	// b's server goes away entirely (still discovered): errors, no counts.
	b.srv.Close()
	a.add("c", 1, 1)
	p.Poll(ctx)
	expect(t, "b down", rec.take(), map[string][2]uint64{"c": {1, 1}})
}

func TestPollerOnlyWhileLeading(t *testing.T) {
	ctx := context.Background()
	a := newFakePeer(t, "a")
	var rec recorder
	var u urls
	u.set(a.srv.URL)
	leading := true
	p := newTestPoller(t, "me", u.discover, rec.sink, func() bool { return leading })
	p.Poll(ctx)
	a.add("c", 1, 0)
	p.Poll(ctx)
	expect(t, "leading", rec.take(), map[string][2]uint64{"c": {1, 0}})

	leading = false
	a.add("c", 10, 0)
	p.Poll(ctx)
	expect(t, "following", rec.take(), nil)

	// Leading again: what a served meanwhile is old traffic, not counted.
	leading = true
	p.Poll(ctx)
	expect(t, "takeover is a baseline", rec.take(), nil)
	a.add("c", 3, 0)
	p.Poll(ctx)
	expect(t, "leading again", rec.take(), map[string][2]uint64{"c": {3, 0}})
}

func TestPollerBoundedByTimeout(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hung.Close()
	a := newFakePeer(t, "a")
	var rec recorder
	d, _ := Static([]string{hung.URL, a.srv.URL})
	p, err := New(Config{Self: "me", Discover: d, Sink: rec.sink, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Poll(context.Background())
	a.add("c", 1, 0)
	start := time.Now()
	p.Poll(context.Background())
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("a poll with a hung peer took %v", el)
	}
	expect(t, "the healthy peer counts", rec.take(), map[string][2]uint64{"c": {1, 0}})
}

func TestRunStopsWithContext(t *testing.T) {
	var rec recorder
	d, _ := Static(nil)
	p, _ := New(Config{Discover: d, Sink: rec.sink, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(30 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return")
	}
}
