package xds

import (
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/serin-dev/serin/snapshot"
	"golang.org/x/sync/semaphore"
)

// The response budget bounds the bytes of large responses in flight across
// the server. In a connect storm every node asks for everything at once:
// each full response (a megabyte or more of clusters and routes for a
// large fleet) is encoded into its own buffer and waits in the transport
// until the node reads it, so a thousand nodes meant a gigabyte and a half
// of buffers at once, and RSS that stayed (+1.5 MB per client). A response
// of at least budgetMinBytes takes its size from the budget before it is
// built, and gives it back when the node answers it (ACK or NACK: it was
// received, so its buffer is gone) or budgetHold after it was sent,
// whichever is first (a node that never answers cannot keep budget). A
// stream that finds the budget spent does not block: it sends nothing for
// that type now, goes on reading its node's requests (the answers that
// give budget back), and is woken when budget is returned. Small
// responses (a weight change of a fleet of a few hundred services: one
// route configuration) never wait.
const (
	// DefaultMaxResponseBytesInFlight: 16 MiB is ~11 full responses of
	// serin-load's 1,000-service fleet (1.4 MB each) at once. Measured
	// with 1,000 clients connecting at once, one connection each (docs/
	// performance.md): RSS +383 KB per client and the storm served in
	// 18 s, against +1.56 MB per client (1.6 GB, over the chart's 512 Mi
	// limit) and 8.8 s without a budget. Raise it where memory is
	// plentiful and connect storms must be short.
	DefaultMaxResponseBytesInFlight = 16 << 20
	budgetMinBytes                  = 64 << 10
	budgetHold                      = 5 * time.Second
)

type responseBudget struct {
	sem *semaphore.Weighted
	max int64
	m   *metrics
	// minBytes and holdFor are budgetMinBytes and budgetHold (tests
	// shrink them).
	minBytes int64
	holdFor  time.Duration

	// waiting are the streams that found the budget spent; every return
	// of budget wakes them all to try again.
	mu      sync.Mutex
	waiting map[*stream]struct{}
}

func newResponseBudget(max int64, m *metrics) *responseBudget {
	if max <= 0 {
		return nil // unbounded
	}
	return &responseBudget{sem: semaphore.NewWeighted(max), max: max, m: m, minBytes: budgetMinBytes, holdFor: budgetHold, waiting: map[*stream]struct{}{}}
}

// hold is budget taken by one response; release is idempotent, and
// called by the stream or by the hold's timer, whichever is first.
type hold struct {
	b     *responseBudget
	n     int64
	mu    sync.Mutex
	done  bool
	timer *time.Timer
}

func (h *hold) release() {
	if h == nil {
		return
	}
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return
	}
	h.done = true
	t := h.timer
	h.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	h.b.sem.Release(h.n)
	h.b.m.budgetInFlight.Sub(float64(h.n))
	h.b.wakeWaiting()
}

// wakeWaiting wakes every stream that waits for budget.
func (b *responseBudget) wakeWaiting() {
	b.mu.Lock()
	var waiting map[*stream]struct{}
	if len(b.waiting) > 0 {
		waiting, b.waiting = b.waiting, map[*stream]struct{}{}
	}
	b.mu.Unlock()
	for st := range waiting {
		st.wake()
	}
}

// forget drops a stream that ended.
func (b *responseBudget) forget(st *stream) {
	if b == nil {
		return
	}
	b.mu.Lock()
	delete(b.waiting, st)
	b.mu.Unlock()
}

// take takes n bytes of budget for st's response (a response larger than
// the whole budget takes all of it). When the budget is spent it returns
// ok=false and wakes st when budget comes back. A response too small to
// count takes nothing (nil, true).
func (b *responseBudget) take(st *stream, n int64) (h *hold, ok bool) {
	if b == nil || n < b.minBytes {
		return nil, true
	}
	n = min(n, b.max)
	if !b.sem.TryAcquire(n) {
		b.mu.Lock()
		_, was := b.waiting[st]
		b.waiting[st] = struct{}{}
		b.mu.Unlock()
		if !was {
			b.m.budgetWaits.Inc()
		}
		// Budget may have come back between the try and the registration.
		if !b.sem.TryAcquire(n) {
			return nil, false
		}
		b.forget(st)
	}
	b.m.budgetInFlight.Add(float64(n))
	h = &hold{b: b, n: n}
	h.mu.Lock() // the timer's release waits for the timer to be set
	h.timer = time.AfterFunc(b.holdFor, h.release)
	h.mu.Unlock()
	return h, true
}

// resourceBytes is the size of a response's resources.
func resourceBytes(rs []*snapshot.Resource) int64 {
	var n int64
	for _, r := range rs {
		n += int64(len(r.Any.GetValue()))
	}
	return n
}

// deltaBytes is the size of a delta response's resources.
func deltaBytes(rs []*discoveryv3.Resource) int64 {
	var n int64
	for _, r := range rs {
		n += int64(len(r.GetResource().GetValue()))
	}
	return n
}
