package xds

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/serin-dev/serin/snapshot"
)

// stream is one ADS stream (SotW or delta) of one node.
type stream struct {
	srv       *Server
	ctx       context.Context // the gRPC stream's: ends with it
	id        int64
	nodeID    string // set once, with id; the byNode key
	protocol  string
	peer      string
	connected time.Time
	// wakeCh has room for one pending wake-up: the stream re-reads its
	// fleet's snapshot once, however many publishes happened meanwhile.
	wakeCh chan struct{}

	// mu guards what follows; the stream's goroutine writes, the node
	// registry and the wake-up path read.
	mu         sync.Mutex
	node       *corev3.Node
	candidates []string
	fleet      string
	snap       *snapshot.Snapshot
	types      [snapshot.NumKinds]*typeState
	nonce      uint64
	// timer wakes the stream at timerAt, when a bounded wait of a gated
	// listener or route version ends (gate.go).
	timer   *time.Timer
	timerAt time.Time
}

func newStream(srv *Server, ctx context.Context, protocol string) *stream {
	st := &stream{srv: srv, ctx: ctx, protocol: protocol, connected: time.Now(), wakeCh: make(chan struct{}, 1)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		st.peer = p.Addr.String()
	}
	return st
}

// interested reports whether a publish that changed these fleets concerns
// the stream: its own fleet changed, or a fleet it would prefer appeared
// (or disappeared).
func (st *stream) interested(changed map[string]bool) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.node == nil {
		return false
	}
	if changed[st.fleet] {
		return true
	}
	for _, c := range st.candidates {
		if changed[c] {
			return true
		}
	}
	return false
}

// setNode takes the node from the first request and picks its fleet.
// Callers hold mu.
func (st *stream) setNode(n *corev3.Node) {
	if n == nil {
		n = &corev3.Node{}
	}
	st.node = n
	st.candidates = fleetCandidates(n)
	st.resolve()
}

// resolve re-reads the node's fleet and snapshot. Callers hold mu.
func (st *stream) resolve() {
	st.fleet, st.snap = st.srv.cache.Resolve(st.candidates...)
}

func (st *stream) refresh() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.resolve()
}

// typeState returns the state of kind k, creating it. Callers hold mu.
func (st *stream) typeState(k snapshot.Kind) *typeState {
	if st.types[k] == nil {
		st.types[k] = newTypeState(k)
	}
	return st.types[k]
}

// nextNonce returns a nonce unique on the stream. Callers hold mu.
func (st *stream) nextNonce() string {
	st.nonce++
	return strconv.FormatUint(st.nonce, 10)
}

// first registers the stream on its first request; it is then reachable by
// wake-ups and listed as a node. A node over the limits is refused before
// anything keeps it.
func (st *stream) first(n *corev3.Node) error {
	if err := st.srv.checkNode(n); err != nil {
		return err
	}
	// Register before resolving: a publish in between either is seen by
	// resolve or wakes the stream.
	st.srv.addStream(st, n.GetId())
	st.mu.Lock()
	st.setNode(n)
	st.mu.Unlock()
	return nil
}

// heldClusters returns the sorted cluster lists the node holds or was last
// sent, when it is of fleet (read only: they may be shared).
func (st *stream) heldClusters(fleet string) [][]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.types[snapshot.KindCluster]
	if st.node == nil || st.fleet != fleet || t == nil {
		return nil
	}
	out := [][]string{t.held.sent, t.held.acked}
	for _, r := range t.held.unanswered {
		out = append(out, r.set)
	}
	return out
}

// loop runs a stream: requests, received on a helper goroutine, and
// wake-ups are handled one at a time on the calling goroutine, each followed
// by after (the flush). It returns when the client ends the stream, ctx
// ends, or the server stops. The helper goroutine ends with the stream.
func loop[Req any](ctx context.Context, done <-chan struct{}, recv func() (Req, error), handle func(Req) error,
	wake <-chan struct{}, onWake func(), after func() error) error {
	reqs := make(chan Req)
	errc := make(chan error, 1)
	go func() {
		for {
			r, err := recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return status.Error(codes.Unavailable, "xds server stopping")
		case err := <-errc:
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
				return nil
			}
			return err
		case r := <-reqs:
			if err := handle(r); err != nil {
				return err
			}
		case <-wake:
			onWake()
		}
		if after != nil {
			if err := after(); err != nil {
				return err
			}
		}
	}
}

// wake makes the stream look at its snapshot again (a pending wake-up is
// enough).
func (st *stream) wake() {
	select {
	case st.wakeCh <- struct{}{}:
	default: // already pending
	}
}

// budget takes the response budget for a response of type k carrying rs,
// before it is built: false means the budget is spent, nothing is to be
// sent for k now, and the stream is woken when budget comes back. The
// type keeps the budget until its node answers (budget.go). Callers hold
// st.mu.
func (st *stream) budget(t *typeState, size int64) bool {
	h, ok := st.srv.budget.take(st, size)
	if !ok {
		return false
	}
	prev := t.hold
	t.hold = h
	prev.release() // superseded: the node answers the newest response
	return true
}

// answered gives back the budget of type k's last response (the node
// answered it). Callers hold st.mu.
func (t *typeState) answered() {
	t.hold.release()
	t.hold = nil
}

// releaseHolds gives back every type's budget (the stream ended).
func (st *stream) releaseHolds() {
	st.srv.budget.forget(st)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, t := range st.types {
		if t != nil {
			t.answered()
		}
	}
}
