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
	release, err := a.s.openStream("ADS")
	if err != nil {
		return err
	}
	defer release()
	st := newStream(a.s, ss.Context(), "delta")
	defer a.s.removeStream(st)
	return loop(ss.Context(), a.s.done, ss.Recv, st.handleDelta, st.wakeCh, st.refresh,
		func() error { return st.flushDelta(ss.Send) })
}

func (st *stream) handleDelta(req *discoveryv3.DeltaDiscoveryRequest) error {
	if st.node == nil {
		if err := st.first(req.GetNode()); err != nil {
			return err
		}
	}
	k, ok := snapshot.KindOf(req.GetTypeUrl())
	if !ok {
		st.srv.log.Debug("ignoring delta request for unserved type", "type", req.GetTypeUrl(), "node", req.GetNode().GetId())
		return nil
	}
	if err := st.srv.checkNames(len(req.GetResourceNamesSubscribe())+len(req.GetInitialResourceVersions()), req.GetTypeUrl()); err != nil {
		return err
	}
	var nk *Nack
	st.mu.Lock()
	t := st.typeState(k)
	// A stale nonce is no ACK, but in delta the subscription changes in
	// the request still count: they are increments, not a full list.
	rejected, current := t.ackOrNack(req.GetResponseNonce(), errorMessage(req.GetErrorDetail(), req.GetErrorDetail() != nil))
	if rejected {
		n := st.nack(t, req.GetErrorDetail().GetMessage(), time.Now())
		nk = &n
	}
	if current && req.GetResponseNonce() != "" {
		t.answered()
	}
	c := t.sub.change(k, req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe(), st.srv.shared)
	if c.first {
		t.mustRespond = true
		for n, v := range req.GetInitialResourceVersions() {
			t.delta.have.set(n, v)
		}
	}
	t.delta.subscribed(c)
	if len(req.GetResourceNamesUnsubscribe()) > 0 {
		t.subscriptionChanged()
	}
	// Subscriptions add up over requests: bound the total too.
	subscribed := len(t.sub.sorted)
	st.mu.Unlock()
	st.srv.emitNack(nk)
	return st.srv.checkNames(subscribed, req.GetTypeUrl())
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
	if t == nil || !t.sub.requested || st.snap == nil {
		return nil, time.Time{}
	}
	// Nothing moved since the last flush that brought the client up to
	// date: skip the walk over every resource.
	if v, ok := t.sub.memoized(k, st.snap); ok && v == t.acks.sentVersion && !t.mustRespond && len(t.delta.notFound) == 0 {
		return nil, time.Time{}
	}
	rs := t.sub.selected(k, st.snap)
	version := snapshot.SetVersion(rs)
	if st.gated(k, version, rs) {
		return nil, time.Time{}
	}
	changed, names, removed := t.delta.diff(rs)
	if len(changed) > 0 && !st.budget(t, deltaBytes(changed)) {
		return nil, time.Time{} // woken when budget comes back
	}
	// Once the changed are sent and the removed removed, the client has
	// exactly rs (or had it already): share it.
	base := st.srv.shared.baseFor(k, version, rs)
	t.delta.caughtUp(base)
	if len(changed) == 0 && len(removed) == 0 && !t.mustRespond {
		t.sub.memoize(k, st.snap, t.acks.sentVersion)
		return nil, time.Time{}
	}
	slices.Sort(removed)
	if len(names) == len(rs) {
		names = base.names // everything: share the list
	}
	published := t.record(st, version, names)
	t.recordHeld(base.names)
	t.sub.memoize(k, st.snap, t.acks.sentVersion)
	return &discoveryv3.DeltaDiscoveryResponse{
		SystemVersionInfo: t.acks.sentVersion,
		Resources:         changed,
		RemovedResources:  removed,
		TypeUrl:           k.TypeURL(),
		Nonce:             t.acks.sentNonce,
	}, published
}
