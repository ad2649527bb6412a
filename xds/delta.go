package xds

import (
	"slices"
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
	ns, _ := t.ackOrNack(req.GetResponseNonce(), errorMessage(req.GetErrorDetail(), req.GetErrorDetail() != nil), time.Now())
	if ns != nil {
		n := st.nack(t, ns)
		nk = &n
	}
	if !t.requested {
		t.requested = true
		t.mustRespond = true
		for n, v := range req.GetInitialResourceVersions() {
			t.have[n] = v
		}
		if len(req.GetResourceNamesSubscribe()) == 0 && wildcardKind(k) {
			t.wildcard = true
		}
	}
	for _, n := range req.GetResourceNamesSubscribe() {
		if n == "*" {
			t.wildcard = true
		} else if !t.names[n] {
			t.names[n] = true
			t.notFound[n] = true
		}
	}
	for _, n := range req.GetResourceNamesUnsubscribe() {
		if n == "*" {
			t.wildcard = false
			continue
		}
		delete(t.names, n)
		delete(t.notFound, n)
		if !t.wildcard {
			delete(t.have, n) // the client forgets it; no removal is due
		}
	}
	t.sortNames()
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
	if st.held(k, version, rs) {
		return nil, time.Time{}
	}
	desired := make(map[string]bool, len(rs))
	var changed []*discoveryv3.Resource
	var names []string
	for _, r := range rs {
		desired[r.Name] = true
		if t.have[r.Name] != r.Version {
			changed = append(changed, r.Delta)
			names = append(names, r.Name)
		}
	}
	var removed []string
	for n := range t.have {
		if !desired[n] {
			removed = append(removed, n)
		}
	}
	// Names just subscribed that do not exist are answered as removed, so
	// the client need not wait for a timeout to learn it.
	for n := range t.notFound {
		if _, had := t.have[n]; !desired[n] && !had {
			removed = append(removed, n)
		}
	}
	clear(t.notFound)
	if len(changed) == 0 && len(removed) == 0 && !t.mustRespond {
		t.memoize(st.snap, t.sentVersion)
		return nil, time.Time{}
	}
	slices.Sort(removed)
	for _, r := range changed {
		t.have[r.GetName()] = r.GetVersion()
	}
	for _, n := range removed {
		delete(t.have, n)
	}
	published := t.record(st, version, names)
	if tracksHeld(k) {
		set := make([]string, 0, len(t.have))
		for n := range t.have {
			set = append(set, n)
		}
		slices.Sort(set)
		t.recordSet(set)
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
