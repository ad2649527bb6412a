package xds

import (
	"context"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"golang.org/x/sync/semaphore"
	"google.golang.org/protobuf/types/known/anypb"
)

// The response budget bounds the bytes of large responses in flight across
// the server. In a connect storm every node asks for everything at once:
// each full response (a megabyte or more of clusters and routes for a
// large fleet) is encoded into its own buffer and waits in the transport
// until the node reads it, so a thousand nodes meant a gigabyte of
// buffers at once and RSS that stayed (+1.1 MB per client). A response of
// at least budgetMinBytes takes its size from the budget before it is
// sent, and gives it back when the node answers it (ACK or NACK: it was
// received, so its buffer is gone) or budgetHold after it was sent,
// whichever is first (a node that never answers cannot keep budget). A
// stream that finds the budget spent waits its turn; others go on.
// Small responses (every weight change of a running fleet: one route
// configuration) never wait.
const (
	// DefaultMaxResponseBytesInFlight: 128 MiB is ~90 full responses of
	// serin's 1,000-service benchmark fleet (1.4 MB each) at once: enough
	// to keep two cores busy encoding while memory stays bounded.
	DefaultMaxResponseBytesInFlight = 128 << 20
	budgetMinBytes                  = 64 << 10
	budgetHold                      = 2 * time.Second
)

type responseBudget struct {
	sem *semaphore.Weighted
	max int64
	m   *metrics
	// minBytes and holdFor are budgetMinBytes and budgetHold (tests
	// shrink them).
	minBytes int64
	holdFor  time.Duration
}

func newResponseBudget(max int64, m *metrics) *responseBudget {
	if max <= 0 {
		return nil // unbounded
	}
	return &responseBudget{sem: semaphore.NewWeighted(max), max: max, m: m, minBytes: budgetMinBytes, holdFor: budgetHold}
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
}

// take waits until n bytes of budget are free (a response larger than the
// whole budget takes all of it), or ctx ends. It returns nil for a
// response too small to count.
func (b *responseBudget) take(ctx context.Context, n int64) (*hold, error) {
	if b == nil || n < b.minBytes {
		return nil, nil
	}
	n = min(n, b.max)
	if !b.sem.TryAcquire(n) {
		b.m.budgetWaits.Inc()
		if err := b.sem.Acquire(ctx, n); err != nil {
			return nil, err
		}
	}
	b.m.budgetInFlight.Add(float64(n))
	h := &hold{b: b, n: n}
	h.mu.Lock() // the timer's release waits for the timer to be set
	h.timer = time.AfterFunc(b.holdFor, h.release)
	h.mu.Unlock()
	return h, nil
}

// responseBytes is the size of a response's resources.
func responseBytes(anys []*anypb.Any) int64 {
	var n int64
	for _, a := range anys {
		n += int64(len(a.GetValue()))
	}
	return n
}

// deltaBytes is the size of a delta response's resources.
func deltaBytes(resp *discoveryv3.DeltaDiscoveryResponse) int64 {
	var n int64
	for _, r := range resp.GetResources() {
		n += int64(len(r.GetResource().GetValue()))
	}
	return n
}
