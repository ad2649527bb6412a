package xds

import (
	"slices"
	"strings"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"

	"github.com/serin-dev/serin/snapshot"
)

// DeltaAggregatedResources is incremental ADS: per stream and type the
// server remembers which version of each resource the client has, and
// sends only what was added or changed, plus removed_resources.
func (a adsService) DeltaAggregatedResources(ss grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	st := newStream(a.s, ss.Context(), "delta")
	defer a.s.removeStream(st)
	return loop(ss.Context(), a.s.done, ss.Recv, st.handleDelta, st.wakeCh, st.refresh,
		func() error { return st.flushDelta(ss.Send) })
}

func (st *stream) handleDelta(req *discoveryv3.DeltaDiscoveryRequest) error {
	if st.node == nil {
		st.first(req.GetNode())
	}
	k, ok := snapshot.KindOf(req.GetTypeUrl())
	if !ok {
		st.srv.log.Debug("ignoring delta request for unserved type", "type", req.GetTypeUrl(), "node", req.GetNode().GetId())
		return nil
	}
	var nk *Nack
	st.mu.Lock()
	t := st.typeState(k)
	// A stale nonce is no ACK, but in delta the subscription changes in
	// the request still count: they are increments, not a full list.
	if rejected, _ := t.ackOrNack(req.GetResponseNonce(), errorMessage(req.GetErrorDetail(), req.GetErrorDetail() != nil)); rejected {
		n := st.nack(t, req.GetErrorDetail().GetMessage(), time.Now())
		nk = &n
	}
	if !t.requested {
		t.requested = true
		t.mustRespond = true
		for n, v := range req.GetInitialResourceVersions() {
			t.have.set(n, v)
		}
		if len(req.GetResourceNamesSubscribe()) == 0 && wildcardKind(k) {
			t.wildcard = true
		}
	}
	// t.names and t.sorted may be shared with other streams (a fleet
	// subscribes alike): never modified in place, replaced.
	var add []string
	for _, n := range req.GetResourceNamesSubscribe() {
		if n == "*" {
			t.wildcard = true
		} else if !t.names[n] {
			add = append(add, n)
			if t.notFound == nil {
				t.notFound = map[string]bool{}
			}
			t.notFound[n] = true
		}
	}
	var drop map[string]bool
	for _, n := range req.GetResourceNamesUnsubscribe() {
		if n == "*" {
			t.wildcard = false
			continue
		}
		if drop == nil {
			drop = map[string]bool{}
		}
		drop[n] = true
		delete(t.notFound, n)
		if !t.wildcard {
			t.have.del(n) // the client forgets it; no removal is due
		}
	}
	if len(add) > 0 || len(drop) > 0 {
		sorted := make([]string, 0, len(t.sorted)+len(add))
		for _, n := range t.sorted {
			if !drop[n] {
				sorted = append(sorted, n)
			}
		}
		for _, n := range add {
			if !drop[n] {
				sorted = append(sorted, n)
			}
		}
		slices.Sort(sorted)
		t.sorted, t.names = st.srv.shared.subscription(k, slices.Clip(slices.Compact(sorted)))
	}
	if len(req.GetResourceNamesUnsubscribe()) > 0 {
		t.pruneHeld()
	}
	t.gen++
	st.mu.Unlock()
	st.srv.emitNack(nk)
	return nil
}

func (st *stream) flushDelta(send func(*discoveryv3.DeltaDiscoveryResponse) error) error {
	for k := range snapshot.NumKinds {
		resp, published := st.nextDelta(k)
		if resp == nil {
			continue
		}
		if err := send(resp); err != nil {
			return err
		}
		st.srv.sent(k, st.protocol, published)
	}
	return nil
}

func (st *stream) nextDelta(k snapshot.Kind) (*discoveryv3.DeltaDiscoveryResponse, time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.types[k]
	if t == nil || !t.requested || st.snap == nil {
		return nil, time.Time{}
	}
	// Nothing moved since the last flush that brought the client up to
	// date: skip the walk over every resource.
	if v, ok := t.memoized(st.snap); ok && v == t.sentVersion && !t.mustRespond && len(t.notFound) == 0 {
		return nil, time.Time{}
	}
	rs := t.selected(st.snap)
	version := snapshot.SetVersion(rs)
	if st.gated(k, version, rs) {
		return nil, time.Time{}
	}
	desired := func(n string) bool {
		_, ok := slices.BinarySearchFunc(rs, n, func(r *snapshot.Resource, n string) int { return strings.Compare(r.Name, n) })
		return ok
	}
	var changed []*discoveryv3.Resource
	var names []string
	for _, r := range rs {
		if v, ok := t.have.get(r.Name); !ok || v != r.Version {
			changed = append(changed, r.Delta)
			names = append(names, r.Name)
		}
	}
	var removed []string
	t.have.each(func(n string) {
		if !desired(n) {
			removed = append(removed, n)
		}
	})
	// Names just subscribed that do not exist are answered as removed, so
	// the client need not wait for a timeout to learn it.
	for n := range t.notFound {
		if _, had := t.have.get(n); !desired(n) && !had {
			removed = append(removed, n)
		}
	}
	t.notFound = nil
	// Once the changed are sent and the removed removed, the client has
	// exactly rs (or had it already): share it.
	base := st.srv.shared.baseFor(k, version, rs)
	t.have.reset(base)
	if len(changed) == 0 && len(removed) == 0 && !t.mustRespond {
		t.memoize(st.snap, t.sentVersion)
		return nil, time.Time{}
	}
	slices.Sort(removed)
	if len(names) == len(rs) {
		names = base.names // everything: share the list
	}
	published := t.record(st, version, names)
	if tracksHeld(k) {
		t.recordSet(base.names)
	}
	t.memoize(st.snap, t.sentVersion)
	return &discoveryv3.DeltaDiscoveryResponse{
		SystemVersionInfo: t.sentVersion,
		Resources:         changed,
		RemovedResources:  removed,
		TypeUrl:           k.TypeURL(),
		Nonce:             t.sentNonce,
	}, published
}
