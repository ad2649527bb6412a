package translator

import (
	"sort"
	"strconv"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func sortVSs(vs []*vsEntry) {
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].key.ns != vs[j].key.ns {
			return vs[i].key.ns < vs[j].key.ns
		}
		return vs[i].key.name < vs[j].key.name
	})
}

// assembleFleets groups the accepted Gateways by fleet and gives each fleet
// exactly what its listeners need.
func (c *compiler) assembleFleets() *IR {
	byFleet := map[string][]*gatewayEntry{v1alpha1.DefaultFleet: nil}
	for _, g := range c.gateways {
		if g.ok {
			byFleet[g.fleet] = append(byFleet[g.fleet], g)
		}
	}
	names := make([]string, 0, len(byFleet))
	for n := range byFleet {
		names = append(names, n)
	}
	sort.Strings(names)

	ir := &IR{Fleets: make([]*Fleet, 0, len(names))}
	used := make(map[string]struct{}, len(c.referenced))
	var defaultFleet *Fleet
	for _, n := range names {
		f := c.fleet(n, byFleet[n], used)
		if n == v1alpha1.DefaultFleet {
			defaultFleet = f
		}
		ir.Fleets = append(ir.Fleets, f)
	}
	// A cluster that something references but no fleet's routes use (a
	// group no route names yet, a canary's upstreams) still exists, in the
	// default fleet, so that it is warm when a route starts using it.
	added := false
	for name, cl := range c.referenced {
		if _, ok := used[name]; !ok {
			defaultFleet.Clusters = append(defaultFleet.Clusters, cl)
			added = true
		}
	}
	if added {
		sortClusters(defaultFleet.Clusters)
	}
	return ir
}

// fleet builds one fleet: its virtual hosts with duplicate domains dropped,
// its listeners, and the clusters its routes use (recorded in used).
func (c *compiler) fleet(name string, gws []*gatewayEntry, used map[string]struct{}) *Fleet {
	f := &Fleet{Name: name}
	// The fleet's VirtualServices, each once, in namespace/name order: the
	// first one to claim a domain keeps it.
	var vss []*vsEntry
	if len(gws) == 1 {
		vss = gws[0].vss
	} else {
		seen := make(map[key]struct{})
		for _, g := range gws {
			for _, v := range g.vss {
				if _, ok := seen[v.key]; !ok {
					seen[v.key] = struct{}{}
					vss = append(vss, v)
				}
			}
		}
		sortVSs(vss)
	}
	listenerNames := make(map[string]struct{}, len(gws))
	for _, g := range gws {
		listenerNames[resourceName(g.key)] = struct{}{}
	}
	owner := make(map[string]*vsEntry, len(vss))
	vhByKey := make(map[key]*VirtualHost, len(vss))
	f.VirtualHosts = make([]*VirtualHost, 0, len(vss))
	for _, v := range vss {
		vh := c.virtualHost(f.Name, v, owner, listenerNames)
		if vh == nil {
			continue
		}
		vhByKey[v.key] = vh
		f.VirtualHosts = append(f.VirtualHosts, vh)
	}
	sortVirtualHosts(f.VirtualHosts)

	f.Listeners = make([]*Listener, 0, len(gws))
	for _, g := range gws {
		l := &Listener{Name: resourceName(g.key), Address: g.address, Port: g.port, Gateway: g.ref}
		l.VirtualHosts = make([]*VirtualHost, 0, len(g.vss))
		for _, v := range g.vss {
			if vh := vhByKey[v.key]; vh != nil {
				l.VirtualHosts = append(l.VirtualHosts, vh)
			}
		}
		sortVirtualHosts(l.VirtualHosts)
		f.Listeners = append(f.Listeners, l)
	}
	sort.Slice(f.Listeners, func(i, j int) bool { return f.Listeners[i].Name < f.Listeners[j].Name })

	mine := make(map[string]struct{}, len(c.referenced))
	for _, vh := range f.VirtualHosts {
		for _, r := range vh.Routes {
			if r.Direct != nil {
				continue
			}
			for _, wc := range r.Clusters {
				c.use(f, wc.Name, mine, used)
			}
			for _, m := range r.Mirrors {
				c.use(f, m.Cluster, mine, used)
			}
		}
	}
	sortClusters(f.Clusters)
	return f
}

func (c *compiler) use(f *Fleet, name string, mine, used map[string]struct{}) {
	if _, ok := mine[name]; ok {
		return
	}
	mine[name] = struct{}{}
	used[name] = struct{}{}
	f.Clusters = append(f.Clusters, c.referenced[name])
}

// virtualHost makes a VirtualService's virtual host in one fleet. A domain
// an earlier VirtualService (by namespace/name) already serves in the fleet
// is dropped with a Warning, since Envoy NACKs a route configuration with a
// duplicate domain; with no domain left the VirtualService is not served
// in the fleet and is Rejected.
func (c *compiler) virtualHost(fleet string, v *vsEntry, owner map[string]*vsEntry, listenerNames map[string]struct{}) *VirtualHost {
	vh := &VirtualHost{Name: v.name, Routes: v.routes, Origins: v.origins}
	kept := v.domains
	for i, d := range v.domains {
		l := strings.ToLower(d)
		if o, taken := owner[l]; taken && o != v {
			if len(kept) == len(v.domains) { // first drop: copy before filtering
				kept = append(make([]string, 0, len(v.domains)), v.domains[:i]...)
			}
			c.rep.warn(v.rep, "spec.virtualHost.domains", "domain "+strconv.Quote(d)+" is already served by VirtualService "+
				o.key.String()+" in fleet "+fleet+"; dropped here")
			continue
		}
		owner[l] = v
		if len(kept) != len(v.domains) {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		c.rep.reject(v.rep, "spec.virtualHost.domains", "every domain is already served by another VirtualService in fleet "+fleet)
		return nil
	}
	vh.Domains = kept
	for _, d := range kept {
		if v1alpha1.HasWildcard(d) {
			continue
		}
		if _, clash := listenerNames[d]; clash {
			c.rep.warn(v.rep, "spec.virtualHost.domains", "domain "+strconv.Quote(d)+" is the name of a Gateway listener in fleet "+fleet+"; no API listener for it")
			continue
		}
		vh.APIListeners = append(vh.APIListeners, d)
	}
	return vh
}

func sortVirtualHosts(vhs []*VirtualHost) {
	sort.Slice(vhs, func(i, j int) bool { return vhs[i].Name < vhs[j].Name })
}

func sortClusters(cs []*Cluster) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
}
