package translator

import (
	"strconv"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// hashPoliciesIR converts the consistent-hash key sources of a route
// (used by ringHash upstreams).
func hashPoliciesIR(p *problems, fieldPath string, hs []v1alpha1.HashPolicy) []HashPolicy {
	if len(hs) == 0 {
		return nil
	}
	out := make([]HashPolicy, 0, len(hs))
	for i, h := range hs {
		if h.Header != "" && !headerSafe(h.Header) {
			p.reject(fieldPath+".hashPolicies["+strconv.Itoa(i)+"].header", "not a valid header name")
			continue
		}
		out = append(out, HashPolicy{Header: h.Header, Cookie: h.Cookie, SourceIP: h.SourceIp, Terminal: h.Terminal})
	}
	return out
}

func buildHashPolicies(hs []HashPolicy) []*routev3.RouteAction_HashPolicy {
	if len(hs) == 0 {
		return nil
	}
	out := make([]*routev3.RouteAction_HashPolicy, 0, len(hs))
	for _, h := range hs {
		pb := &routev3.RouteAction_HashPolicy{Terminal: h.Terminal}
		switch {
		case h.Header != "":
			pb.PolicySpecifier = &routev3.RouteAction_HashPolicy_Header_{Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: h.Header}}
		case h.Cookie != "":
			ck := &routev3.RouteAction_HashPolicy_Cookie{Name: h.Cookie, Path: h.CookiePath}
			if h.CookieTTL != nil {
				ck.Ttl = durationpb.New(*h.CookieTTL)
			}
			pb.PolicySpecifier = &routev3.RouteAction_HashPolicy_Cookie_{Cookie: ck}
		default:
			pb.PolicySpecifier = &routev3.RouteAction_HashPolicy_ConnectionProperties_{ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}
		}
		out = append(out, pb)
	}
	return out
}
