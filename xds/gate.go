package xds

import (
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// Gating listeners and routes.
//
// Envoy expects CDS -> EDS -> LDS -> RDS: a route naming a cluster the node
// does not have (or whose endpoints it has not got yet) answers 503. So an
// LDS or RDS version waits while it needs something the node does not hold
// yet, and only that:
//
//   - a cluster its routes name (for LDS: the routes of its HCMs, inline or
//     over RDS) that the node subscribes to over CDS but is not in the last
//     CDS response it ACKed;
//   - the ClusterLoadAssignment of such an EDS cluster, when the node
//     subscribes to it over EDS and has never ACKed a response carrying it.
//
// A wait on an unanswered response is bounded by gateValve; a wait on a
// rejected one is not (see waiting).
//
// What the node holds is heldNames (held.go), kept for CDS and EDS; what a
// version needs is routeNeeds (needs.go), kept for LDS and RDS.
//
// Updates that only change or remove clusters and endpoints the node has
// never make routes wait: endpoint churn faster than the node's EDS ACKs must not
// delay a route change (a canary rollback is one RDS push). A response that
// carries nothing (an empty EDS, which Envoy without EDS watches never ACKs)
// makes nothing wait, since nothing needed is in it.
//
// Names the node has not subscribed to never make anything wait: a gRPC client
// subscribes to clusters only after it has the routes naming them, and to
// endpoints only after the clusters, so waiting for them would deadlock it.

// gateValve bounds the wait for an unanswered CDS or EDS response. Envoy
// ACKs within milliseconds; a response unanswered for 2 s is one the node is
// not going to answer soon (a lost or never-sent ACK, an overloaded node),
// and keeping a route change waiting longer costs more (it may be a rollback) than
// the short 503 window on a cluster the node is most likely warming by then.
// It is also well below Envoy's 15 s initial_fetch_timeout, after which
// Envoy itself stops waiting for a warming cluster's endpoints.
const gateValve = 2 * time.Second

// waiting reports whether name, which the node subscribes to and has not
// ACKed, is worth waiting for, and until when (zero: no bound).
//
// Unanswered, it is on its way: wait up to gateValve. Rejected (the last
// response carrying it was NACKed), it will not arrive, and routes naming
// it would make the node answer 503 for that share, so they wait with no
// bound; the node keeps serving its last good routes meanwhile. Envoy does
// apply the valid clusters of a rejected CDS response, but which ones is not
// known here, so every name in it counts as rejected. This cannot wedge a
// client: the wait ends when a later response carrying the name is ACKed,
// and a config change that no longer routes to the name makes a new
// version with other needs, which does not wait for it.
func (t *typeState) waiting(name string) (until time.Time, ok bool) {
	if !holds(t.held.sent, name) {
		return time.Time{}, false
	}
	if t.acks.inFlight {
		return t.held.since.Add(gateValve), true
	}
	if t.acks.rejectedLatest() {
		return time.Time{}, true
	}
	return time.Time{}, false
}

// gateClosed reports whether the LDS or RDS version v of kind k must wait,
// and when to look again (zero: only a request or a publish can open the
// gate). rs is the selected set of that version. Callers hold st.mu.
func (st *stream) gateClosed(k snapshot.Kind, v string, rs []*snapshot.Resource, now time.Time) (bool, time.Time) {
	if k != snapshot.KindListener && k != snapshot.KindRoute {
		return false, time.Time{}
	}
	t := st.types[k]
	key := v
	if k == snapshot.KindListener {
		key += "/" + st.snap.Version(snapshot.KindRoute)
	}
	if t.needs.key != key {
		// The selected set's version is a hash of its content, so streams
		// that hold the same set share one computation.
		// The translator said what each resource needs; the snapshot joins
		// a listener's needs with its route configurations'.
		n := st.snap.ClusterNeeds(rs)
		t.needs.set(key, n.Clusters, n.Endpoints)
	}
	ct, et := st.types[snapshot.KindCluster], st.types[snapshot.KindEndpoint]
	cdsAcked, edsAcked := ct.heldAcked(), et.heldAcked()
	if t.needs.allHeldFor(cdsAcked, edsAcked) {
		// A weight change keeps the clusters a route needs: checking the
		// node still holds them all is one comparison, not thousands of
		// lookups per stream.
		return false, time.Time{}
	}
	all := true // the node holds every need, whatever the subscriptions
	defer func() {
		if all {
			t.needs.rememberAllHeld(cdsAcked, edsAcked)
		}
	}()
	for i, c := range t.needs.clusters {
		if st.snap.Get(snapshot.KindCluster, c) == nil {
			all = false
			continue // not served: nothing to wait for
		}
		if !holds(cdsAcked, c) {
			all = false
		}
		if ct.covers(c) && !holds(cdsAcked, c) {
			until, ok := ct.waiting(c)
			if !ok {
				continue
			}
			if until.IsZero() || now.Before(until) {
				return true, until
			}
			continue // valve open; its endpoints are not waited for either
		}
		name := t.needs.endpoints[i]
		if name == "" || holds(edsAcked, name) {
			continue
		}
		all = false
		if !et.covers(name) {
			continue
		}
		if until, ok := et.waiting(name); ok && (until.IsZero() || now.Before(until)) {
			all = false
			return true, until
		}
	}
	return false, time.Time{}
}

// gated is gateClosed now, arming a wake-up for when a bounded wait ends.
// Callers hold st.mu.
func (st *stream) gated(k snapshot.Kind, v string, rs []*snapshot.Resource) bool {
	closed, until := st.gateClosed(k, v, rs, time.Now())
	if closed && !until.IsZero() {
		st.wakeAt(until)
	}
	return closed
}

// wakeAt arranges a wake-up (a flush) at t, unless one is due no later.
// Callers hold st.mu.
func (st *stream) wakeAt(t time.Time) {
	if st.timer != nil {
		if !st.timerAt.After(t) {
			return
		}
		st.timer.Stop()
	}
	st.timerAt = t
	st.timer = time.AfterFunc(time.Until(t)+time.Millisecond, func() {
		st.mu.Lock()
		st.timer = nil
		st.mu.Unlock()
		select {
		case st.wakeCh <- struct{}{}:
		default: // already pending
		}
	})
}

// stopTimer cancels a pending wake-up of a stream that ended.
func (st *stream) stopTimer() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
}
