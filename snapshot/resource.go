package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/serin-dev/serin/translator"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Resource is one Envoy resource, marshaled once and shared by every stream
// that serves it. Nothing in it may be mutated after it is built.
type Resource struct {
	Name string
	// Version is a hash of the marshaled bytes: equal content, equal version.
	Version string
	// Any carries the marshaled resource; responses point at it directly.
	Any *anypb.Any
	// Delta is the same resource wrapped for delta responses.
	Delta *discoveryv3.Resource
	// Message is the resource the bytes were made from (read only).
	Message proto.Message
	// API marks an API listener, served only to clients that name it.
	API bool
	// Needs is what a listener or route configuration names, as the
	// translator said (translator.Resources.Needs); zero for other kinds.
	Needs translator.Needs
}

// vtStrict is implemented by the vtprotobuf code shipped with the /envoy
// protos. It is several times faster than proto.Marshal (see
// BenchmarkMarshal) and is the hot path of every snapshot build.
type vtStrict interface {
	MarshalVTStrict() ([]byte, error)
}

// Marshal returns the wire bytes of m, through vtprotobuf when m supports it.
func Marshal(m proto.Message) ([]byte, error) {
	if v, ok := m.(vtStrict); ok {
		return v.MarshalVTStrict()
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// NewResource marshals m once into a shareable Resource.
func NewResource(k Kind, name string, m proto.Message, api bool) (*Resource, error) {
	b, err := Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s %q: %w", k, name, err)
	}
	sum := sha256.Sum256(b)
	// 64 bits of SHA-256 are plenty to tell versions of one resource apart
	// and keep version strings short in logs and on the admin API.
	version := hex.EncodeToString(sum[:8])
	a := &anypb.Any{TypeUrl: k.TypeURL(), Value: b}
	return &Resource{
		Name:    name,
		Version: version,
		Any:     a,
		Delta:   &discoveryv3.Resource{Name: name, Version: version, Resource: a},
		Message: m,
		API:     api,
	}, nil
}

// SetVersion is the version of a set of resources: a hash of their sorted
// names and versions. The empty set has a version too, so that "nothing" is
// a state a client can ACK.
func SetVersion(rs []*Resource) string {
	sorted := rs
	if !slices.IsSortedFunc(rs, byName) {
		sorted = slices.Clone(rs)
		slices.SortFunc(sorted, byName)
	}
	h := sha256.New()
	for _, r := range sorted {
		h.Write([]byte(r.Name))
		h.Write([]byte{0})
		h.Write([]byte(r.Version))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func byName(a, b *Resource) int { return strings.Compare(a.Name, b.Name) }
