package xds

import (
	"slices"
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// typeState is what a stream knows about one resource type.
type typeState struct {
	kind snapshot.Kind
	// requested is set by the first request for the type; nothing is sent
	// for a type the client never asked for.
	requested bool
	// wildcard: all resources of the type (socket listeners only for LDS),
	// plus names.
	wildcard bool
	// legacy: the first request had no names (CDS/LDS), which means
	// wildcard until the client names resources.
	legacy bool
	names  map[string]bool
	sorted []string
	// mustRespond forces a response even if the version is unchanged: the
	// first request on a stream, or a changed subscription.
	mustRespond bool

	sentVersion   string
	sentNonce     string
	sentAt        time.Time
	sentNames     []string           // resources in the last response
	sentSnap      *snapshot.Snapshot // it came from, for NACK attribution
	inFlight      bool               // sent, neither ACKed nor NACKed yet
	ackedVersion  string
	nackedVersion string
	lastNack      *Nack
	// inFlightSince is when the oldest unanswered response was sent.
	inFlightSince time.Time

	// CDS and EDS only, for gating (gate.go): the names the node holds once
	// it applies the last response, those of the last response it ACKed,
	// and the unanswered responses.
	sentSet  []string
	ackedSet []string
	recent   []sentRecord

	// LDS and RDS only: the clusters the version needsKey routes to.
	needsKey string
	needs    []string
	// needsEDS[i] is the assignment needs[i] reads over EDS ("" for none).
	needsEDS []string
	// held memoizes "the node holds every cluster (and EDS assignment) in
	// needs": true for heldNeeds against the CDS and EDS ACKed sets
	// heldCDS and heldEDS. While those three are the same slices, nothing
	// can hold this type's versions, whatever else moves.
	heldNeeds, heldCDS, heldEDS []string

	// gen counts subscription changes. memoKind and memoGen are the
	// snapshot's version of this kind and gen when memoVersion, the version
	// of the selected set, was computed: while neither moves the selection
	// is the same, so a flush (after every ACK, on every publish) need not
	// walk and hash thousands of resources again to learn there is nothing
	// to send.
	gen         uint64
	memoKind    string
	memoGen     uint64
	memoVersion string

	// Delta only: what the client has (have.go), and names newly
	// subscribed that must be answered even if they do not exist (nil
	// between requests: a cleared map would keep its buckets).
	have     haveSet
	notFound map[string]bool
}

func newTypeState(k snapshot.Kind) *typeState {
	return &typeState{kind: k, names: map[string]bool{}}
}

// wildcardKind: CDS and LDS are the types a request without names
// subscribes to in full (Envoy's legacy wildcard).
func wildcardKind(k snapshot.Kind) bool {
	return k == snapshot.KindCluster || k == snapshot.KindListener
}

// setNames replaces the subscription (SotW) and reports whether it changed.
// The names and their set come from sh, shared with streams that asked for
// the same: SotW never modifies them in place.
func (t *typeState) setNames(names []string, sh *shared) bool {
	first := !t.requested
	t.requested = true
	wasWildcard, old := t.wildcard, t.sorted
	t.legacy = len(names) == 0 && wildcardKind(t.kind) && (first || t.legacy)
	t.wildcard = t.legacy || slices.Contains(names, "*")
	sorted := make([]string, 0, len(names))
	for _, n := range names {
		if n != "*" {
			sorted = append(sorted, n)
		}
	}
	slices.Sort(sorted)
	t.sorted, t.names = sh.subscription(t.kind, slices.Compact(sorted))
	changed := first || wasWildcard != t.wildcard || !slices.Equal(old, t.sorted)
	if changed {
		t.gen++
	}
	return changed
}

// memoized returns the version of the selected set when neither the
// snapshot's resources of this kind nor the subscription changed since it
// was last computed.
func (t *typeState) memoized(s *snapshot.Snapshot) (string, bool) {
	if t.memoVersion == "" || t.memoGen != t.gen || t.memoKind != s.Version(t.kind) {
		return "", false
	}
	return t.memoVersion, true
}

// memoize records the version of the selected set of s.
func (t *typeState) memoize(s *snapshot.Snapshot, version string) {
	t.memoKind, t.memoGen, t.memoVersion = s.Version(t.kind), t.gen, version
}

// selected returns the resources the subscription covers, sorted by name.
// A wildcard LDS subscription gets socket listeners only: Envoy refuses API
// listeners over LDS; gRPC clients name theirs.
func (t *typeState) selected(s *snapshot.Snapshot) []*snapshot.Resource {
	if s == nil {
		return nil
	}
	var out []*snapshot.Resource
	if t.wildcard {
		for _, r := range s.Resources(t.kind) {
			if r.API && !t.names[r.Name] {
				continue
			}
			out = append(out, r)
		}
		return out
	}
	for _, n := range t.sorted {
		if r := s.Get(t.kind, n); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// ackOrNack applies the response_nonce and error_detail of a request. It
// reports whether the request rejected the latest response (the caller
// records the NACK: stream.nack), and false for current when the request
// is stale (names an older nonce) and must be ignored.
func (t *typeState) ackOrNack(nonce string, errMsg *string) (rejected, current bool) {
	if nonce == "" || t.sentNonce == "" {
		// A first request; a nonce from a previous stream or server means
		// nothing here.
		return false, true
	}
	if nonce != t.sentNonce {
		if errMsg == nil {
			t.creditStale(nonce)
		}
		return false, false
	}
	if !t.inFlight {
		// The response was answered already. Envoy keeps error_detail (and
		// the nonce) on every later request of the type until a new
		// response arrives, e.g. when its EDS subscription changes after a
		// NACK: that is the same rejection, not a new one, and counting it
		// again would inflate the metric, the log and the onNack hook.
		return false, true
	}
	t.inFlight = false
	t.answered(errMsg == nil)
	if errMsg == nil {
		t.ackedVersion = t.sentVersion
		return false, true
	}
	t.nackedVersion = t.sentVersion
	return true, true
}

// nackStands reports whether the type's last NACK still stands: no later
// version was sent since.
func (t *typeState) nackStands() bool {
	return t.lastNack != nil && t.lastNack.Version == t.sentVersion
}
