package translator

import (
	"math"
	"net/netip"
	"sort"
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// defaultRegion is the region of every locality: serin does not know
// regions, but gRPC NACKs an assignment whose localities have no Locality.
const defaultRegion = "default"

// rawEndpoint is an endpoint before grouping into localities.
type rawEndpoint struct {
	region, zone string
	ep           LbEndpoint
}

// staticLocalities groups a static upstream's hosts by zone. Hosts that
// are DNS names are dropped with a Warning: EDS carries IP addresses only,
// and Envoy NACKs the whole response for one name.
func staticLocalities(p *problems, hosts []v1alpha1.Host) []Locality {
	raw := make([]rawEndpoint, 0, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		fp := "spec.static.hosts[" + strconv.Itoa(i) + "]"
		addr, ok := ipAddress(h.Addr)
		if !ok {
			p.warn(fp+".addr", "host "+strconv.Quote(h.Addr)+" is not an IP address; clusters are EDS, which carries IP addresses only, so the host is left out")
			continue
		}
		if h.Port < 1 || h.Port > 65535 {
			p.reject(fp+".port", "must be between 1 and 65535")
			continue
		}
		w := uint32(1)
		if h.Weight != nil {
			w = *h.Weight
		} else if h.LoadBalancingWeight != nil {
			w = *h.LoadBalancingWeight
		}
		if w == 0 {
			w = 1
		}
		raw = append(raw, rawEndpoint{region: defaultRegion, zone: h.Zone, ep: LbEndpoint{Address: addr, Port: h.Port, Weight: w}})
	}
	return localities(p, raw)
}

// kubeLocalities takes a kube upstream's endpoints from Input.Endpoints.
func kubeLocalities(p *problems, k ident.Key, ku *v1alpha1.KubeUpstream, eps []Endpoint) []Locality {
	if len(eps) == 0 {
		svcNS := ku.ServiceNamespace
		if svcNS == "" {
			svcNS = k.Namespace
		}
		p.warn("spec.kube.serviceName", "no endpoints for Service "+svcNS+"/"+ku.ServiceName+
			" port "+strconv.FormatUint(uint64(ku.ServicePort), 10)+"; the cluster has none")
		return nil
	}
	raw := make([]rawEndpoint, 0, len(eps))
	for _, e := range eps {
		addr, ok := ipAddress(e.Address)
		port := e.Port
		if port == 0 {
			port = ku.ServicePort
		}
		if !ok || port < 1 || port > 65535 {
			p.warn("spec.kube", "endpoint "+strconv.Quote(e.Address)+" port "+strconv.FormatUint(uint64(port), 10)+" is not an IP address and port; left out")
			continue
		}
		region := e.Region
		if region == "" {
			region = defaultRegion
		}
		w := e.Weight
		if w == 0 {
			w = 1
		}
		raw = append(raw, rawEndpoint{region: region, zone: e.Zone, ep: LbEndpoint{Address: addr, Port: port, Weight: w}})
	}
	return localities(p, raw)
}

// ipAddress returns the canonical form of an IP address.
func ipAddress(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}

// localities groups endpoints by region and zone, sorted, each weighted by
// the sum of its endpoints' weights.
func localities(p *problems, raw []rawEndpoint) []Locality {
	if len(raw) == 0 {
		return nil
	}
	sort.SliceStable(raw, func(i, j int) bool {
		a, b := &raw[i], &raw[j]
		if a.region != b.region {
			return a.region < b.region
		}
		if a.zone != b.zone {
			return a.zone < b.zone
		}
		if a.ep.Address != b.ep.Address {
			return a.ep.Address < b.ep.Address
		}
		return a.ep.Port < b.ep.Port
	})
	var out []Locality
	var total uint64
	for i := 0; i < len(raw); {
		j := i
		var sum uint64
		for j < len(raw) && raw[j].region == raw[i].region && raw[j].zone == raw[i].zone {
			sum += uint64(raw[j].ep.Weight)
			j++
		}
		total += sum
		if sum > math.MaxUint32 || total > math.MaxUint32 {
			// Envoy refuses weights that add up to more than 32 bits.
			p.reject("spec", "endpoint weights add up to more than 4294967295")
			return nil
		}
		eps := make([]LbEndpoint, j-i)
		for n := i; n < j; n++ {
			eps[n-i] = raw[n].ep
		}
		out = append(out, Locality{Region: raw[i].region, Zone: raw[i].zone, Weight: uint32(sum), Endpoints: eps})
		i = j
	}
	return out
}
