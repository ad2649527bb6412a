package translator

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// vtMessage is an Envoy proto with go-control-plane's vtprotobuf marshaler,
// several times faster than proto.Marshal and without reflection. The
// marshalers are compiled in only with the vtprotobuf build tag; without it
// proto.Marshal is used.
type vtMessage interface {
	MarshalVTStrict() ([]byte, error)
}

// marshal serializes deterministically, with vtprotobuf when available.
func marshal(m proto.Message) ([]byte, error) {
	if vt, ok := m.(vtMessage); ok {
		return vt.MarshalVTStrict()
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// typeURLPrefix is the prefix of every Any type URL.
const typeURLPrefix = "type.googleapis.com/"

// toAny packs a message whose full name the caller knows. The messages
// packed here are built by serin from checked values; a marshal error would
// be a bug, and the Any is then left empty so that validation catches it
// instead of the process panicking.
func toAny(typeName string, m proto.Message) *anypb.Any {
	b, err := marshal(m)
	if err != nil {
		return &anypb.Any{}
	}
	return &anypb.Any{TypeUrl: typeURLPrefix + typeName, Value: b}
}
