package translator

import (
	"reflect"
	"slices"
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Names of the gateway that exists when no Gateway is configured.
const (
	defaultGatewayName      = "gateway-proxy"
	defaultGatewayNamespace = v1alpha1.DefaultNamespace
)

// vsCell is a VirtualService's cell.
type vsCell = cell[*v1alpha1.VirtualService, vsResult]

// gatewayEntry is one Gateway with defaults applied and its selection
// resolved. Gateways are few: they are compiled on every run, and compared
// with the last run's to tell whether the layout moved.
type gatewayEntry struct {
	key     ident.Key
	ok      bool
	fleet   string
	address string
	port    uint32
	// vss are the accepted VirtualServices it serves, in namespace/name order.
	vss []*vsCell
	// report is the Gateway's; empty for the default gateway.
	report Report
}

// compileGateways resolves every Gateway, or makes the default one when
// none is configured. It reports whether they differ from the last run's.
func (t *Translator) compileGateways() bool {
	var gws []*gatewayEntry
	if len(t.in.Gateways) == 0 {
		gws = []*gatewayEntry{{
			key: ident.NewKey(defaultGatewayNamespace, defaultGatewayName), ok: true,
			fleet: v1alpha1.DefaultFleet, address: v1alpha1.DefaultBindAddress, port: v1alpha1.DefaultGatewayPort,
			vss: t.acceptedVSs(),
		}}
	} else {
		objs := listedObjects(t.in.Gateways)
		gws = make([]*gatewayEntry, 0, len(objs))
		var bound []*gatewayEntry // accepted so far
		for _, o := range objs {
			e := &gatewayEntry{key: ident.KeyOf(o.obj)}
			var p problems
			if o.dup {
				p.warn("metadata.name", "defined more than once; the first definition is used")
			}
			t.compileGateway(e, o.obj, &p, bound)
			var serving *Served
			if p.rejected() {
				serving = t.gatewayLastAccepted(e, o, bound)
			}
			if e.ok {
				bound = append(bound, e)
			}
			e.report = buildReport(e.key.Ref(v1alpha1.KindGateway), p.list)
			if serving != nil {
				e.report.Serving = serving
				e.report.Reason += serving.suffix()
			}
			gws = append(gws, e)
		}
	}
	moved := !slices.EqualFunc(gws, t.gateways, sameGateway)
	if moved || !slices.EqualFunc(gws, t.gateways, func(a, b *gatewayEntry) bool { return reflect.DeepEqual(a.report, b.report) }) {
		t.repsOld = true
	}
	t.gateways = gws
	return moved
}

func sameGateway(a, b *gatewayEntry) bool {
	return a.key == b.key && a.ok == b.ok && a.fleet == b.fleet && a.address == b.address && a.port == b.port && slices.Equal(a.vss, b.vss)
}

// compileGateway resolves one Gateway; bound are the accepted ones before it.
func (t *Translator) compileGateway(e *gatewayEntry, gw *v1alpha1.Gateway, p *problems, bound []*gatewayEntry) {
	if p.rejectAll(gw.Validate()) {
		return
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
		p.reject("spec.bindAddress", "must be an IP address")
		return
	}
	// Two listeners on one address and port: the proxy can bind only one,
	// and refuses the whole LDS update.
	if first := bindConflict(bound, e); first != nil {
		p.reject("spec.bindPort", "["+e.address+"]:"+strconv.FormatUint(uint64(e.port), 10)+
			" overlaps ["+first.address+"]:"+strconv.FormatUint(uint64(first.port), 10)+
			" of Gateway "+first.key.String()+" in fleet "+e.fleet)
		return
	}
	e.ok = true
	if len(s.VirtualServices) == 0 {
		e.vss = t.acceptedVSs()
		return
	}
	seen := make(map[ident.Key]struct{}, len(s.VirtualServices))
	for j, r := range s.VirtualServices {
		vk := ident.RefKey(r, e.key.Namespace)
		v := t.vss.cells[vk]
		fp := "spec.virtualServices[" + strconv.Itoa(j) + "]"
		switch {
		case v == nil:
			p.warn(fp, "VirtualService "+vk.String()+" not found")
		case !v.res.ok:
			p.warn(fp, "VirtualService "+vk.String()+" is rejected")
		default:
			if _, dup := seen[vk]; !dup {
				seen[vk] = struct{}{}
				e.vss = append(e.vss, v)
			}
		}
	}
	sortVSs(e.vss)
}

func (t *Translator) acceptedVSs() []*vsCell {
	out := make([]*vsCell, 0, len(t.vss.order))
	for _, v := range t.vss.order {
		if v.res.ok {
			out = append(out, v)
		}
	}
	return out
}

func sortVSs(vs []*vsCell) {
	slices.SortFunc(vs, func(a, b *vsCell) int { return a.key.Compare(b.key) })
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
