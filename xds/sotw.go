package xds

import (
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/serin-dev/serin/snapshot"
)

// adsService implements the aggregated discovery service on a Server.
type adsService struct{ s *Server }

// StreamAggregatedResources is ADS state-of-the-world. Every response for a
// type carries the full set the client subscribes to (to gRPC, a missing
// resource means deleted), versioned by a hash of exactly that set, so a
// change to a resource the client did not ask for sends it nothing.
func (a adsService) StreamAggregatedResources(ss grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	release, err := a.s.openStream("ADS")
	if err != nil {
		return err
	}
	defer release()
	st := newStream(a.s, ss.Context(), "sotw")
	defer a.s.removeStream(st)
	return loop(ss.Context(), a.s.done, ss.Recv, st.handleSotW, st.wakeCh, st.refresh,
		func() error { return st.flushSotW(ss.Send) })
}

func errorMessage(d interface{ GetMessage() string }, present bool) *string {
	if !present {
		return nil
	}
	m := d.GetMessage()
	return &m
}

func (st *stream) handleSotW(req *discoveryv3.DiscoveryRequest) error {
	if st.node == nil { // only this goroutine writes node
		if err := st.first(req.GetNode()); err != nil {
			return err
		}
	}
	k, ok := snapshot.KindOf(req.GetTypeUrl())
	if !ok {
		st.srv.log.Debug("ignoring request for unserved type", "type", req.GetTypeUrl(), "node", req.GetNode().GetId())
		return nil
	}
	if err := st.srv.checkNames(len(req.GetResourceNames()), req.GetTypeUrl()); err != nil {
		return err
	}
	var nk *Nack
	st.mu.Lock()
	t := st.typeState(k)
	rejected, current := t.ackOrNack(req.GetResponseNonce(), errorMessage(req.GetErrorDetail(), req.GetErrorDetail() != nil))
	if !current { // stale nonce: the client has not seen our latest response
		st.mu.Unlock()
		return nil
	}
	if req.GetResponseNonce() != "" {
		t.answered()
	}
	if rejected {
		n := st.nack(t, req.GetErrorDetail().GetMessage(), time.Now())
		nk = &n
	}
	if !t.sub.requested {
		t.acks.resumed(req.GetVersionInfo()) // what it had from a previous stream
	}
	if t.sub.setNames(k, req.GetResourceNames(), st.srv.shared) {
		t.mustRespond = true
		t.subscriptionChanged()
	}
	st.mu.Unlock()
	st.srv.emitNack(nk)
	return nil
}

// flushSotW sends, in CDS -> EDS -> LDS -> RDS order, every type whose
// subscribed set has a version the node has not been sent.
func (st *stream) flushSotW(send func(*discoveryv3.DiscoveryResponse) error) error {
	for k := range snapshot.NumKinds {
		resp, published := st.nextSotW(k)
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

func (st *stream) nextSotW(k snapshot.Kind) (*discoveryv3.DiscoveryResponse, time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.types[k]
	if t == nil || !t.sub.requested || st.snap == nil {
		return nil, time.Time{}
	}
	v, memo := t.sub.memoized(k, st.snap)
	var rs []*snapshot.Resource
	if !memo {
		rs = t.sub.selected(k, st.snap)
		v = snapshot.SetVersion(rs)
		t.sub.memoize(k, st.snap, v)
	}
	if v == t.acks.nackedVersion {
		// Never re-send what this node rejected; wait for new content.
		t.mustRespond = false
		return nil, time.Time{}
	}
	if v == t.acks.sentVersion && !t.mustRespond {
		return nil, time.Time{}
	}
	if memo {
		rs = t.sub.selected(k, st.snap)
	}
	if st.gated(k, v, rs) {
		return nil, time.Time{}
	}
	if !st.budget(t, resourceBytes(rs)) {
		return nil, time.Time{} // woken when budget comes back
	}
	anys := make([]*anypb.Any, len(rs))
	names := make([]string, len(rs))
	for i, r := range rs {
		anys[i], names[i] = r.Any, r.Name
	}
	names = st.srv.shared.sentNames(k, names)
	published := t.record(st, v, names)
	t.recordHeld(names)
	return &discoveryv3.DiscoveryResponse{
		VersionInfo: v,
		Resources:   anys,
		TypeUrl:     k.TypeURL(),
		Nonce:       t.acks.sentNonce,
	}, published
}

// sent counts a response and its push latency.
func (s *Server) sent(k snapshot.Kind, protocol string, published time.Time) {
	s.metrics.responses.WithLabelValues(k.String(), protocol).Inc()
	if !published.IsZero() {
		s.metrics.pushLatency.WithLabelValues(k.String()).Observe(time.Since(published).Seconds())
	}
}
