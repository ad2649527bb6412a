package translator

import (
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Every HTTP connection manager serin emits differs only in its stat prefix
// and route name, and there is one per API listener (10,000 domains, 10,000
// of them). hcmAny writes its bytes directly from two pre-marshaled parts
// instead of building and marshaling an HttpConnectionManager each time;
// TestHCMBytes proves the bytes equal proto.Marshal(buildHCM(...)).

// Field numbers of HttpConnectionManager and Rds.
const (
	hcmStatPrefix    = 2
	hcmRds           = 3
	rdsConfigSource  = 1
	rdsRouteConfName = 2
)

var (
	// hcmFilters is the marshaled http_filters field (the router filter).
	hcmFilters = mustMarshal(&hcmv3.HttpConnectionManager{HttpFilters: buildHCM("", "").HttpFilters})
	// rdsSource is the marshaled Rds.config_source field (ADS, v3).
	rdsSource = mustMarshal(&hcmv3.Rds{ConfigSource: adsSource()})
)

func mustMarshal(m proto.Message) []byte {
	b, err := marshal(m)
	if err != nil {
		panic("translator: cannot marshal a constant message: " + err.Error()) // a bug, found at init
	}
	return b
}

// hcmAny is toAny(hcmType, buildHCM(statPrefix, routeName)), faster.
func hcmAny(statPrefix, routeName string) *anypb.Any {
	rdsLen := len(rdsSource) + protowire.SizeTag(rdsRouteConfName) + protowire.SizeBytes(len(routeName))
	n := protowire.SizeTag(hcmStatPrefix) + protowire.SizeBytes(len(statPrefix)) +
		protowire.SizeTag(hcmRds) + protowire.SizeBytes(rdsLen) + len(hcmFilters)
	b := make([]byte, 0, n)
	// Fields in the order proto.Marshal writes them: plain fields by
	// number, then oneofs (rds). codec_type (1) is AUTO, the zero value, and
	// so not written.
	b = protowire.AppendTag(b, hcmStatPrefix, protowire.BytesType)
	b = protowire.AppendString(b, statPrefix)
	b = append(b, hcmFilters...)
	b = protowire.AppendTag(b, hcmRds, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(rdsLen))
	b = append(b, rdsSource...)
	b = protowire.AppendTag(b, rdsRouteConfName, protowire.BytesType)
	b = protowire.AppendString(b, routeName)
	return &anypb.Any{TypeUrl: typeURLPrefix + hcmType, Value: b}
}
