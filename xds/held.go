package xds

import (
	"slices"
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// heldNames is, for CDS and EDS, which names the node holds: what the
// route gate (gate.go) reads to decide whether a listener or route version
// can go out. "Held" means this and only this in the package.
type heldNames struct {
	// sent: the names the node holds once it applies the last response.
	sent []string
	// acked: the names of the last response it ACKed (or that an ACK of
	// an older one credited).
	acked []string
	// unanswered are the responses not answered yet, oldest first, so
	// that an ACK of an older one (SotW: the node has not seen the newest
	// yet) still tells which names the node holds.
	unanswered []sentRecord
	// since is when the oldest unanswered response was sent (zero: none),
	// which bounds the gate's wait for it.
	since time.Time
}

// recentSent is how many unanswered CDS/EDS responses a stream remembers
// (heldNames.unanswered) so that an ACK of an older one still tells which
// names the node holds. An ACK of one older still credits nothing: the
// gate then waits for a later ACK, bounded by gateValve.
const recentSent = 8

// sentRecord is one CDS or EDS response: its nonce, when it was sent, and
// the names the node holds once it applies it.
type sentRecord struct {
	nonce string
	at    time.Time
	set   []string // sorted; may be shared, read only
}

// tracksHeld reports whether the names a node holds of kind k are tracked.
func tracksHeld(k snapshot.Kind) bool {
	return k == snapshot.KindCluster || k == snapshot.KindEndpoint
}

// sentResponse notes a response and the names (sorted) the node holds once
// it applies it.
func (h *heldNames) sentResponse(nonce string, at time.Time, set []string) {
	h.sent = set
	if h.since.IsZero() {
		h.since = at
	}
	if len(h.unanswered) == recentSent {
		h.unanswered = slices.Delete(h.unanswered, 0, 1)
	}
	h.unanswered = append(h.unanswered, sentRecord{nonce: nonce, at: at, set: set})
}

// answered applies an ACK or NACK of the latest response: nothing is
// unanswered any more.
func (h *heldNames) answered(ack bool) {
	if ack {
		h.acked = h.sent
	}
	h.unanswered = h.unanswered[:0]
	h.since = time.Time{}
}

// creditStale applies an ACK of an older response: the node holds what that
// response carried, and the oldest unanswered response is the next one.
func (h *heldNames) creditStale(nonce string) {
	i := slices.IndexFunc(h.unanswered, func(r sentRecord) bool { return r.nonce == nonce })
	if i < 0 || i == len(h.unanswered)-1 {
		return // unknown, or the latest (handled as a current ACK)
	}
	h.acked = h.unanswered[i].set
	h.since = h.unanswered[i+1].at
	h.unanswered = slices.Delete(h.unanswered, 0, i+1)
}

// prune forgets acked names the node no longer subscribes to: once it
// unsubscribes, it drops them, and must be sent them again if it comes
// back. The acked list may be shared: it is replaced, not modified.
func (h *heldNames) prune(subscribed map[string]bool) {
	if !slices.ContainsFunc(h.acked, func(n string) bool { return !subscribed[n] }) {
		return
	}
	out := make([]string, 0, len(h.acked))
	for _, n := range h.acked {
		if subscribed[n] {
			out = append(out, n)
		}
	}
	h.acked = out
}

// holds reports whether the sorted set contains name.
func holds(set []string, name string) bool {
	_, ok := slices.BinarySearch(set, name)
	return ok
}
