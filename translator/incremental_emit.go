package translator

import (
	"reflect"
	"slices"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/serin-dev/serin/pkg/ident"
)

// memo remembers the messages a Translator emitted last time, by resource
// name, with the IR they were built from. When a full translation builds
// an IR value equal to last time's, emit returns last time's message, so
// snapshot.Build finds the same pointer and skips marshaling it again.
//
// A nil *memo builds every message anew (the pure Emit).
type memo struct {
	prev, next memoGen
}

// fleetName is a resource name within a fleet: virtual hosts and route
// configurations differ between fleets (domains are deduplicated per fleet).
type fleetName struct{ fleet, name string }

type memoGen struct {
	clusters     map[string]memoCluster
	vhosts       map[fleetName]memoVHost
	routes       map[fleetName]*routev3.RouteConfiguration
	listeners    map[fleetName]memoListener
	apiListeners map[string]*listenerv3.Listener
}

type memoCluster struct {
	ir    *Cluster
	built *builtCluster
}

type memoVHost struct {
	ir *VirtualHost
	pb *routev3.VirtualHost
}

type memoListener struct {
	name, address string
	port          uint32
	pb            *listenerv3.Listener
}

func newMemoGen() memoGen {
	return memoGen{
		clusters:     map[string]memoCluster{},
		vhosts:       map[fleetName]memoVHost{},
		routes:       map[fleetName]*routev3.RouteConfiguration{},
		listeners:    map[fleetName]memoListener{},
		apiListeners: map[string]*listenerv3.Listener{},
	}
}

// emitAll is emit with this memo: what is not in the new IR is forgotten.
func (m *memo) emitAll(ir *IR) map[string]*Resources {
	m.next = newMemoGen()
	out := emit(ir, m)
	m.prev, m.next = m.next, memoGen{}
	return out
}

func (m *memo) cluster(c *Cluster) *builtCluster {
	if m == nil {
		return &builtCluster{cluster: buildCluster(c), endpoints: buildEndpoints(c), origin: [1]ident.Ref{c.Upstream}}
	}
	old, ok := m.prev.clusters[c.Name]
	if !ok || (old.ir != c && !reflect.DeepEqual(old.ir, c)) {
		old = memoCluster{ir: c, built: (*memo)(nil).cluster(c)}
	}
	m.next.clusters[c.Name] = old
	return old.built
}

func (m *memo) virtualHost(fleet string, vh *VirtualHost) *routev3.VirtualHost {
	if m == nil {
		return buildVirtualHost(vh)
	}
	k := fleetName{fleet, vh.Name}
	old, ok := m.prev.vhosts[k]
	if !ok || !sameVirtualHost(old.ir, vh) {
		old = memoVHost{pb: buildVirtualHost(vh)}
	}
	old.ir = vh
	m.next.vhosts[k] = old
	return old.pb
}

// sameVirtualHost reports whether both IR hosts build the same message.
func sameVirtualHost(a, b *VirtualHost) bool {
	if a == b {
		return true
	}
	return a.Name == b.Name && slices.Equal(a.Domains, b.Domains) && reflect.DeepEqual(a.Routes, b.Routes)
}

func (m *memo) apiListener(domain string) *listenerv3.Listener {
	if m == nil {
		return buildAPIListener(domain)
	}
	l, ok := m.next.apiListeners[domain]
	if !ok {
		if l, ok = m.prev.apiListeners[domain]; !ok {
			l = buildAPIListener(domain) // a function of the domain alone
		}
		m.next.apiListeners[domain] = l
	}
	return l
}

func (m *memo) singleRouteConfig(fleet, name string, vh *routev3.VirtualHost) *routev3.RouteConfiguration {
	if m == nil {
		return buildSingleRouteConfig(name, vh)
	}
	k := fleetName{fleet, name}
	rc := m.prev.routes[k]
	if rc == nil || len(rc.VirtualHosts) != 1 || rc.VirtualHosts[0] != vh {
		rc = buildSingleRouteConfig(name, vh)
	}
	m.next.routes[k] = rc
	return rc
}

func (m *memo) routeConfig(fleet, name string, vhs []*routev3.VirtualHost) *routev3.RouteConfiguration {
	if m == nil {
		return buildRouteConfig(name, vhs)
	}
	k := fleetName{fleet, name}
	rc := m.prev.routes[k]
	if rc == nil || !slices.Equal(rc.VirtualHosts, vhs) {
		rc = buildRouteConfig(name, vhs)
	}
	m.next.routes[k] = rc
	return rc
}

func (m *memo) listener(fleet string, l *Listener) *listenerv3.Listener {
	if m == nil {
		return buildListener(l)
	}
	k := fleetName{fleet, l.Name}
	old, ok := m.prev.listeners[k]
	if !ok || old.name != l.Name || old.address != l.Address || old.port != l.Port {
		old = memoListener{name: l.Name, address: l.Address, port: l.Port, pb: buildListener(l)}
	}
	m.next.listeners[k] = old
	return old.pb
}
