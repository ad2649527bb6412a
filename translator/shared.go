package translator

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Emitted resources share the messages that are equal everywhere (a weight
// of 1, the default locality, "match everything"). With 10,000s of
// resources this halves the memory a translation takes. The output is
// read-only for everyone, so sharing is safe: proto marshaling of a shared
// message from several goroutines is too.

// smallU32 holds shared wrappers for the weights that occur most (0-255).
var smallU32 = func() (t [256]*wrapperspb.UInt32Value) {
	for i := range t {
		t[i] = wrapperspb.UInt32(uint32(i))
	}
	return t
}()

// u32v wraps a value, shared when small.
func u32v(v uint32) *wrapperspb.UInt32Value {
	if v < uint32(len(smallU32)) {
		return smallU32[v]
	}
	return wrapperspb.UInt32(v)
}

// defaultLocality is the locality of endpoints that name no zone.
var defaultLocality = &corev3.Locality{Region: defaultRegion}

func locality(region, zone string) *corev3.Locality {
	if region == defaultRegion && zone == "" {
		return defaultLocality
	}
	return &corev3.Locality{Region: region, Zone: zone}
}

// matchEverything is prefix "/" with no other condition, the most common
// match of all.
var matchEverything = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
