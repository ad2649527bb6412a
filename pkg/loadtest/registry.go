package loadtest

import (
	"strconv"
	"strings"
	"sync"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/serin-dev/serin/pkg/gen"
)

// Registry maps the RDS versions clients receive to the canary weights of
// the tracked services, decoding each version once.
type Registry struct {
	tracked int // services 0..tracked-1 can change

	mu   sync.Mutex
	ids  map[string]uint32
	vers []*version
}

type version struct {
	once    sync.Once
	weights []uint32 // per tracked service; 0 = not seen in this version
}

// NewRegistry tracks the canary weights of services 0..tracked-1.
func NewRegistry(tracked int) *Registry {
	return &Registry{tracked: tracked, ids: map[string]uint32{}}
}

// Observe returns the id of an RDS version, decoding raw (the resources of
// the response that carried it) the first time the version is seen.
// Concurrent callers for a new version wait for one decode.
func (g *Registry) Observe(v string, raw []*anypb.Any) uint32 {
	g.mu.Lock()
	id, ok := g.ids[v]
	if !ok {
		id = uint32(len(g.vers))
		g.ids[v] = id
		g.vers = append(g.vers, &version{})
	}
	ver := g.vers[id]
	g.mu.Unlock()
	ver.once.Do(func() { ver.weights = g.decode(raw) })
	return id
}

// Contains reports whether version id carries a canary weight of at least
// w for service svc.
func (g *Registry) Contains(id uint32, svc int, w uint32) bool {
	g.mu.Lock()
	ver := g.vers[id]
	g.mu.Unlock()
	return svc < len(ver.weights) && ver.weights[svc] >= w
}

// Versions is how many distinct RDS versions clients saw.
func (g *Registry) Versions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.vers)
}

// decode reads the canary weight of each tracked service out of the route
// configurations: the weighted cluster "<svc>-v2_<ns>" in the virtual host
// whose domain is gen.Domain(i).
func (g *Registry) decode(raw []*anypb.Any) []uint32 {
	out := make([]uint32, g.tracked)
	for _, a := range raw {
		rc := &routev3.RouteConfiguration{}
		if err := proto.Unmarshal(a.GetValue(), rc); err != nil {
			continue
		}
		for _, vh := range rc.GetVirtualHosts() {
			i := serviceIndex(vh.GetDomains())
			if i < 0 || i >= g.tracked {
				continue
			}
			for _, r := range vh.GetRoutes() {
				for _, wc := range r.GetRoute().GetWeightedClusters().GetClusters() {
					if strings.HasPrefix(wc.GetName(), gen.Name(i)+"-v2_") {
						out[i] = wc.GetWeight().GetValue()
					}
				}
			}
		}
	}
	return out
}

// serviceIndex returns i when domains hold gen.Domain(i), else -1.
func serviceIndex(domains []string) int {
	for _, d := range domains {
		rest, ok := strings.CutPrefix(d, "svc-")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(rest, ".example.com")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(num); err == nil {
			return i
		}
	}
	return -1
}
