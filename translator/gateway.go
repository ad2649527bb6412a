package translator

import (
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Names of the gateway that exists when no Gateway is configured.
const (
	defaultGatewayName      = "gateway-proxy"
	defaultGatewayNamespace = v1alpha1.DefaultNamespace
)

// gatewayEntry is one Gateway with defaults applied and its selection
// resolved.
type gatewayEntry struct {
	key     key
	ref     ident.Ref
	rep     int32
	ok      bool
	fleet   string
	address string
	port    uint32
	// vss are the accepted VirtualServices it serves, in namespace/name order.
	vss []*vsEntry
}

// compileGateways resolves every Gateway, or makes the default one when
// none is configured.
func (c *compiler) compileGateways() {
	if len(c.in.Gateways) == 0 {
		k := key{defaultGatewayNamespace, defaultGatewayName}
		c.gateways = []*gatewayEntry{{
			key: k, ref: objRef(v1alpha1.KindGateway, k), ok: true,
			fleet: v1alpha1.DefaultFleet, address: v1alpha1.DefaultBindAddress, port: v1alpha1.DefaultGatewayPort,
			vss: c.acceptedVSs(),
		}}
		return
	}
	list, keys, reps := objects(c, v1alpha1.KindGateway, c.in.Gateways)
	c.gateways = make([]*gatewayEntry, 0, len(list))
	var bound []*gatewayEntry // accepted so far
	for i, gw := range list {
		k := keys[i]
		e := &gatewayEntry{key: k, ref: objRef(v1alpha1.KindGateway, k), rep: reps[i]}
		c.gateways = append(c.gateways, e)
		if c.rep.rejectAll(e.rep, gw.Validate()) {
			continue
		}
		s := &gw.Spec
		e.fleet, e.address, e.port = s.Fleet, s.BindAddress, s.BindPort
		if e.fleet == "" {
			e.fleet = v1alpha1.DefaultFleet
		}
		if e.address == "" {
			e.address = v1alpha1.DefaultBindAddress
		}
		if e.port == 0 {
			e.port = v1alpha1.DefaultGatewayPort
		}
		if a, ok := ipAddress(e.address); ok {
			e.address = a
		} else {
			c.rep.reject(e.rep, "spec.bindAddress", "must be an IP address")
			continue
		}
		// Two listeners on one address and port: the proxy can bind only one,
		// and refuses the whole LDS update.
		if first := bindConflict(bound, e); first != nil {
			c.rep.reject(e.rep, "spec.bindPort", "["+e.address+"]:"+strconv.FormatUint(uint64(e.port), 10)+
				" overlaps ["+first.address+"]:"+strconv.FormatUint(uint64(first.port), 10)+
				" of Gateway "+first.key.String()+" in fleet "+e.fleet)
			continue
		}
		bound = append(bound, e)
		e.ok = true
		if len(s.VirtualServices) == 0 {
			e.vss = c.acceptedVSs()
			continue
		}
		seen := make(map[key]struct{}, len(s.VirtualServices))
		for j, r := range s.VirtualServices {
			vk := refKey(r, k.ns)
			v, found := c.vsByKey[vk]
			fp := "spec.virtualServices[" + strconv.Itoa(j) + "]"
			switch {
			case !found:
				c.rep.warn(e.rep, fp, "VirtualService "+vk.String()+" not found")
			case !v.ok:
				c.rep.warn(e.rep, fp, "VirtualService "+vk.String()+" is rejected")
			default:
				if _, dup := seen[vk]; !dup {
					seen[vk] = struct{}{}
					e.vss = append(e.vss, v)
				}
			}
		}
		sortVSs(e.vss)
	}
}

func (c *compiler) acceptedVSs() []*vsEntry {
	out := make([]*vsEntry, 0, len(c.vss))
	for _, v := range c.vss {
		if v.ok {
			out = append(out, v)
		}
	}
	return out
}

// bindConflict returns the gateway of the same fleet whose socket e's
// would overlap: the same address and port, or the same port with a
// wildcard on either side ("::" with ipv4_compat takes IPv4 too; 0.0.0.0
// takes every IPv4 address).
func bindConflict(bound []*gatewayEntry, e *gatewayEntry) *gatewayEntry {
	for _, b := range bound {
		if b.fleet != e.fleet || b.port != e.port {
			continue
		}
		if b.address == e.address || b.address == "::" || e.address == "::" {
			return b
		}
		if (b.address == "0.0.0.0" && isIPv4(e.address)) || (e.address == "0.0.0.0" && isIPv4(b.address)) {
			return b
		}
	}
	return nil
}

func isIPv4(a string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] == ':' {
			return false
		}
	}
	return true
}
