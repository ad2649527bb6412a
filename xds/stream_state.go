package xds

import (
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// typeState is what a stream knows about one resource type, in parts that
// each answer one question:
//
//   - sub: what the client asked for (subscription.go);
//   - acks: what was sent and how the client answered (acks.go);
//   - held: for CDS and EDS, which names the node holds (held.go);
//   - needs: for LDS and RDS, what the next version needs it to hold
//     (needs.go); the route gate (gate.go) reads held and needs;
//   - delta: for delta streams, what the client has (have.go).
//
// A stream's goroutine writes it holding st.mu.
type typeState struct {
	kind snapshot.Kind
	// mustRespond forces a response even if the version is unchanged: the
	// first request on a stream, or a changed subscription.
	mustRespond bool
	sub         subscription
	acks        ackState
	held        heldNames
	needs       routeNeeds
	delta       deltaState
	// hold is the response budget the last large response took; it goes
	// back when the node answers (budget.go).
	hold *hold
}

func newTypeState(k snapshot.Kind) *typeState {
	return &typeState{kind: k, sub: subscription{names: map[string]bool{}}}
}

// ackOrNack applies the response_nonce and error_detail of a request. It
// reports whether the request rejected the latest response (the caller
// records the NACK: stream.nack), and false for current when the request
// is stale (names an older nonce) and must be ignored.
func (t *typeState) ackOrNack(nonce string, errMsg *string) (rejected, current bool) {
	switch a := t.acks.answer(nonce, errMsg != nil); a {
	case answerStale:
		if errMsg == nil && tracksHeld(t.kind) {
			t.held.creditStale(nonce)
		}
		return false, false
	case answerAck, answerNack:
		if tracksHeld(t.kind) {
			t.held.answered(a == answerAck)
		}
		return a == answerNack, true
	default:
		return false, true
	}
}

// record notes a response about to be sent, carrying names of version
// from st.snap, and returns the publication time of that snapshot when it
// is an update (for push latency). Callers hold st.mu.
func (t *typeState) record(st *stream, version string, names []string) time.Time {
	var published time.Time
	if t.acks.sentSnap != nil && t.acks.sentSnap != st.snap {
		published = st.snap.Published
	}
	if t.acks.nackStands() && t.acks.lastNack.Version != version {
		st.srv.standing.drop(st.id, t.kind) // a later version: it no longer stands
	}
	t.mustRespond = false
	t.acks.sent(version, st.nextNonce(), time.Now(), names, st.snap)
	return published
}

// recordHeld notes the names (sorted) the node holds once it applies the
// response just recorded. Callers hold st.mu.
func (t *typeState) recordHeld(set []string) {
	if tracksHeld(t.kind) {
		t.held.sentResponse(t.acks.sentNonce, t.acks.sentAt, set)
	}
}

// subscriptionChanged forgets held names the node no longer subscribes to.
func (t *typeState) subscriptionChanged() {
	if tracksHeld(t.kind) && !t.sub.wildcard {
		t.held.prune(t.sub.names)
	}
}

// covers reports whether the node subscribes to name of this type (t nil:
// it never asked for the type).
func (t *typeState) covers(name string) bool {
	return t != nil && t.sub.covers(name)
}

// heldAcked is the ACKed set of a type the node may not have asked for.
func (t *typeState) heldAcked() []string {
	if t == nil {
		return nil
	}
	return t.held.acked
}
