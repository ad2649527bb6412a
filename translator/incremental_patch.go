package translator

import (
	"maps"
	"slices"
	"sort"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
)

// patcher applies a Translator's patch to the last IR and output: the IR
// and the memo are updated in place (the Translator owns them), the output
// is copied on write, since the last Output was handed out and is read-only.
type patcher struct {
	t      *Translator
	fleets map[string]*Resources
	copied map[string]*resCopy
	// listenerVHosts are, per Gateway route configuration, the virtual
	// hosts to replace, by index.
	listenerVHosts map[fleetName]map[int]*routev3.VirtualHost
}

// resCopy is a fleet's Resources copied for a patch, with the slices that
// were copied too.
type resCopy struct {
	r                          *Resources
	clusters, endpoints, route bool
}

func newPatcher(t *Translator) *patcher {
	return &patcher{
		t:              t,
		fleets:         maps.Clone(t.out.Fleets),
		copied:         map[string]*resCopy{},
		listenerVHosts: map[fleetName]map[int]*routev3.VirtualHost{},
	}
}

func (p *patcher) res(fleet string) *resCopy {
	rc := p.copied[fleet]
	if rc == nil {
		r := *p.fleets[fleet]
		rc = &resCopy{r: &r}
		p.copied[fleet] = rc
		p.fleets[fleet] = &r
	}
	return rc
}

// cluster puts an Upstream's new cluster in every fleet that has it. Its
// messages are built again and kept only if they differ: an endpoints
// change leaves the Cluster message as it was.
func (p *patcher) cluster(cl *Cluster) {
	m := &p.t.memo.prev
	b := (*memo)(nil).cluster(cl)
	if old, ok := m.clusters[cl.Name]; ok {
		if proto.Equal(old.built.cluster, b.cluster) {
			b.cluster = old.built.cluster
		}
		if proto.Equal(old.built.endpoints, b.endpoints) {
			b.endpoints = old.built.endpoints
		}
		b.origin = old.built.origin
	}
	m.clusters[cl.Name] = memoCluster{ir: cl, built: b}
	if _, ok := p.t.c.referenced[cl.Name]; ok {
		p.t.c.referenced[cl.Name] = cl
	}
	for _, f := range p.t.ir.Fleets {
		j, found := sort.Find(len(f.Clusters), func(i int) int { return strings.Compare(cl.Name, f.Clusters[i].Name) })
		if !found {
			continue
		}
		f.Clusters[j] = cl
		rc := p.res(f.Name)
		if rc.r.Clusters[j] != b.cluster {
			if !rc.clusters {
				rc.r.Clusters, rc.clusters = slices.Clone(rc.r.Clusters), true
			}
			rc.r.Clusters[j] = b.cluster
		}
		if rc.r.Endpoints[j] != b.endpoints {
			if !rc.endpoints {
				rc.r.Endpoints, rc.endpoints = slices.Clone(rc.r.Endpoints), true
			}
			rc.r.Endpoints[j] = b.endpoints
		}
	}
}

// virtualService rebuilds the virtual host of a VirtualService whose routes
// changed, in every fleet that serves it, and the route configurations of
// its API listeners; Gateway route configurations are rebuilt once, in
// finishRoutes.
func (p *patcher) virtualService(e *vsEntry) {
	m := &p.t.memo.prev
	for _, f := range p.t.ir.Fleets {
		j, found := sort.Find(len(f.VirtualHosts), func(i int) int { return strings.Compare(e.name, f.VirtualHosts[i].Name) })
		if !found {
			continue
		}
		vh := f.VirtualHosts[j]
		vh.Routes, vh.Origins = e.routes, e.origins
		pb := buildVirtualHost(vh)
		m.vhosts[fleetName{f.Name, vh.Name}] = memoVHost{ir: vh, pb: pb}
		for _, d := range vh.APIListeners {
			p.setRoute(f.Name, buildSingleRouteConfig(d, pb))
		}
		for _, l := range f.Listeners {
			k, found := sort.Find(len(l.VirtualHosts), func(i int) int { return strings.Compare(e.name, l.VirtualHosts[i].Name) })
			if !found || l.VirtualHosts[k] != vh {
				continue
			}
			ln := fleetName{f.Name, l.Name}
			if p.listenerVHosts[ln] == nil {
				p.listenerVHosts[ln] = map[int]*routev3.VirtualHost{}
			}
			p.listenerVHosts[ln][k] = pb
		}
	}
}

// finishRoutes rebuilds each Gateway route configuration that holds a
// changed virtual host, once.
func (p *patcher) finishRoutes() {
	for ln, changed := range p.listenerVHosts {
		old := p.t.memo.prev.routes[ln]
		vhs := slices.Clone(old.VirtualHosts)
		for k, pb := range changed {
			vhs[k] = pb
		}
		p.setRoute(ln.fleet, buildRouteConfig(ln.name, vhs))
	}
}

func (p *patcher) setRoute(fleet string, rc *routev3.RouteConfiguration) {
	c := p.res(fleet)
	if !c.route {
		c.r.Routes, c.route = slices.Clone(c.r.Routes), true
	}
	i, found := sort.Find(len(c.r.Routes), func(i int) int { return strings.Compare(rc.Name, c.r.Routes[i].Name) })
	if !found {
		panic("translator: patched route configuration " + rc.Name + " is not in fleet " + fleet) // a bug
	}
	c.r.Routes[i] = rc
	p.t.memo.prev.routes[fleetName{fleet, rc.Name}] = rc
}
