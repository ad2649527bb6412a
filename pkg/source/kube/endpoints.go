package kube

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
)

// endpointLookup is what endpoint resolution reads; the informers' caches
// implement it, and tests can fake it.
type endpointLookup interface {
	service(ns, name string) *corev1.Service
	slices(ns, name string) []*discoveryv1.EndpointSlice
	podLabels(ns, name string) (map[string]string, bool)
}

// resolveEndpoints returns the ready endpoints of a kube Upstream, sorted
// and without duplicates:
//
//   - servicePort is the Service's port number; it is mapped to the
//     EndpointSlice port of the same name (slices name their ports after the
//     Service's, with targetPort already resolved to the pod's port);
//   - an endpoint is used when it is ready (an unset condition counts as
//     ready, as the API says) and, with a selector, when the pod its
//     targetRef names carries the selector's labels;
//   - its zone is the endpoint's zone; the region is left to the translator.
//
// A missing Service, a port the Service does not have, or no ready
// endpoint all resolve to an empty set (the translator then warns).
func resolveEndpoints(l endpointLookup, u *v1alpha1.Upstream) []store.EndpointAddr {
	ku := u.Spec.Kube
	if ku == nil {
		return nil
	}
	ns := ku.ServiceNamespace
	if ns == "" {
		ns = namespaceOf(u)
	}
	svc := l.service(ns, ku.ServiceName)
	if svc == nil {
		return []store.EndpointAddr{}
	}
	portName, ok := servicePortName(svc, ku.ServicePort)
	if !ok {
		return []store.EndpointAddr{}
	}
	var sel labels.Selector
	if len(ku.Selector) > 0 {
		sel = labels.SelectorFromSet(ku.Selector)
	}
	seen := map[store.EndpointAddr]struct{}{}
	out := []store.EndpointAddr{}
	for _, s := range l.slices(ns, ku.ServiceName) {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue // FQDN slices are for ExternalName-like services
		}
		port, ok := slicePort(s, portName)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
			if !ready(ep) || len(ep.Addresses) == 0 {
				continue
			}
			if sel != nil && !podMatches(l, ns, ep, sel) {
				continue
			}
			a := store.EndpointAddr{Address: ep.Addresses[0], Port: port}
			if ep.Zone != nil {
				a.Zone = *ep.Zone
			}
			if _, dup := seen[a]; dup {
				continue
			}
			seen[a] = struct{}{}
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return out[i].Address < out[j].Address
		}
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Zone < out[j].Zone
	})
	return out
}

func servicePortName(svc *corev1.Service, port uint32) (string, bool) {
	for _, p := range svc.Spec.Ports {
		if uint32(p.Port) == port {
			return p.Name, true
		}
	}
	return "", false
}

func slicePort(s *discoveryv1.EndpointSlice, name string) (uint32, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil && *p.Port > 0 {
			return uint32(*p.Port), true
		}
	}
	return 0, false
}

// ready follows the EndpointSlice API: nil Ready means ready; a
// terminating endpoint is never ready.
func ready(ep *discoveryv1.Endpoint) bool {
	c := ep.Conditions
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return c.Ready == nil || *c.Ready
}

func podMatches(l endpointLookup, ns string, ep *discoveryv1.Endpoint, sel labels.Selector) bool {
	ref := ep.TargetRef
	if ref == nil || ref.Kind != "Pod" {
		return false
	}
	podNS := ref.Namespace
	if podNS == "" {
		podNS = ns
	}
	lbls, ok := l.podLabels(podNS, ref.Name)
	return ok && sel.Matches(labels.Set(lbls))
}

// cacheLookup reads endpoint inputs from the informers' caches.
type cacheLookup struct{ s *Source }

func (c cacheLookup) service(ns, name string) *corev1.Service {
	n := c.s.informersFor(ns)
	if n == nil {
		return nil
	}
	obj, ok, err := n.services.GetIndexer().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

func (c cacheLookup) slices(ns, name string) []*discoveryv1.EndpointSlice {
	n := c.s.informersFor(ns)
	if n == nil {
		return nil
	}
	objs, err := n.slices.GetIndexer().ByIndex(indexService, ns+"/"+name)
	if err != nil {
		return nil
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	// Deterministic order, so duplicates resolve the same way every time.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c cacheLookup) podLabels(ns, name string) (map[string]string, bool) {
	n := c.s.informersFor(ns)
	if n == nil {
		return nil, false
	}
	obj, ok, err := n.pods.GetIndexer().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, false
	}
	return m.GetLabels(), true
}
