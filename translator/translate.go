package translator

import (
	"github.com/serin-dev/serin/pkg/store"
)

// Translate turns the input into Envoy resources per fleet plus a report
// per input object. It is pure and deterministic: the same input gives
// byte-identical output. A bad object never breaks a good one: a rejected
// object is left out, and what references it gets a Warning and a safe
// fallback (a route answering 503, a dropped destination or mirror).
//
// Messages that are equal everywhere are shared between resources (see
// Emit): treat the output as read-only.
func Translate(in *Input, opts Options) *Output {
	ir, reports := BuildIR(in, opts)
	return &Output{Fleets: Emit(ir), Reports: reports}
}

// InputFrom reads a consistent store view into an Input. Active canary
// states become overrides of their group's weights and mirror; when two
// active canaries drive one group, the first by namespace/name wins.
// Endpoints discovered for kube Upstreams (by the Kubernetes source) come
// from the store's endpoints table.
func InputFrom(t *store.ReadTxn) *Input {
	in := &Input{
		Upstreams:       t.Upstreams(),
		UpstreamGroups:  t.UpstreamGroups(),
		VirtualServices: t.VirtualServices(),
		Gateways:        t.Gateways(),
		Canaries:        t.Canaries(),
	}
	if eps := t.AllUpstreamEndpoints(); len(eps) > 0 {
		in.Endpoints = eps
	}
	for _, st := range t.CanaryStates() {
		if !st.Active {
			continue
		}
		if in.Overrides == nil {
			in.Overrides = make(map[string]GroupOverride)
		}
		if _, taken := in.Overrides[st.GroupID]; taken {
			continue
		}
		in.Overrides[st.GroupID] = GroupOverride{Canary: st.ID, Weights: st.Weights, Mirror: st.Mirror}
	}
	return in
}
