package kube

import (
	"fmt"
	"reflect"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// addHandlers turns informer events into queued items. Handlers only
// enqueue keys: the worker reads the current state from the caches, so
// the order in which events of different informers arrive never matters.
func (s *Source) addHandlers(n *namespaceInformers) error {
	for kind, inf := range n.kinds {
		kind := kind
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.objectChanged(kind, obj) },
			UpdateFunc: func(_, obj any) { s.objectChanged(kind, obj) },
			DeleteFunc: func(obj any) { s.objectChanged(kind, obj) },
		})
		if err != nil {
			return fmt.Errorf("kube: %s handler: %w", kind, err)
		}
	}
	if _, err := n.services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.serviceChanged(obj) },
		UpdateFunc: func(_, obj any) { s.serviceChanged(obj) },
		DeleteFunc: func(obj any) { s.serviceChanged(obj) },
	}); err != nil {
		return fmt.Errorf("kube: service handler: %w", err)
	}
	if _, err := n.slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.sliceChanged(obj) },
		UpdateFunc: func(old, obj any) {
			s.sliceChanged(old) // the service label may have changed
			s.sliceChanged(obj)
		},
		DeleteFunc: func(obj any) { s.sliceChanged(obj) },
	}); err != nil {
		return fmt.Errorf("kube: endpointslice handler: %w", err)
	}
	if _, err := n.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.podChanged(obj) },
		UpdateFunc: func(old, obj any) {
			// Only labels matter to selectors; pods update often (status).
			if !reflect.DeepEqual(labelsOf(old), labelsOf(obj)) {
				s.podChanged(obj)
			}
		},
		DeleteFunc: func(obj any) { s.podChanged(obj) },
	}); err != nil {
		return fmt.Errorf("kube: pod handler: %w", err)
	}
	return nil
}

func (s *Source) objectChanged(kind string, obj any) {
	if !s.loading.Load() {
		return
	}
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	key := ident.KeyOf(m)
	s.queue.Add(item{kind, key})
	if kind == v1alpha1.KindUpstream {
		s.queue.Add(item{kindEndpoints, key})
	}
}

func (s *Source) serviceChanged(obj any) {
	if m, ok := metaOf(obj); ok && s.loading.Load() {
		s.upstreamsOfService(m.GetNamespace() + "/" + m.GetName())
	}
}

func (s *Source) sliceChanged(obj any) {
	if !s.loading.Load() {
		return
	}
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if sl, ok := obj.(*discoveryv1.EndpointSlice); ok {
		if name := sl.Labels[discoveryv1.LabelServiceName]; name != "" {
			s.upstreamsOfService(sl.Namespace + "/" + name)
		}
	}
}

func (s *Source) podChanged(obj any) {
	m, ok := metaOf(obj)
	if !ok || !s.loading.Load() {
		return
	}
	s.enqueueEndpointsByIndex(indexSelectorNS, m.GetNamespace())
}

// upstreamsOfService queues the endpoints of every Upstream naming the Service.
func (s *Source) upstreamsOfService(svcKey string) {
	s.enqueueEndpointsByIndex(indexService, svcKey)
}

func (s *Source) enqueueEndpointsByIndex(index, value string) {
	for _, n := range s.byNS {
		objs, err := n.kinds[v1alpha1.KindUpstream].GetIndexer().ByIndex(index, value)
		if err != nil {
			continue
		}
		for _, o := range objs {
			if u, ok := o.(*v1alpha1.Upstream); ok {
				s.queue.Add(item{kindEndpoints, ident.KeyOf(u)})
			}
		}
	}
}

func metaOf(obj any) (metav1.Object, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	return m, ok
}

func labelsOf(obj any) map[string]string {
	if m, ok := metaOf(obj); ok {
		return m.GetLabels()
	}
	return nil
}

// prepare copies a cached object (the cache's copy is shared and must not
// change), fills in its kind and defaults, as the file source does.
func prepare(raw any) (metav1.Object, bool) {
	gv := v1alpha1.SchemeGroupVersion.String()
	switch o := raw.(type) {
	case *v1alpha1.Upstream:
		c := o.DeepCopy()
		c.APIVersion, c.Kind = gv, v1alpha1.KindUpstream
		c.Default()
		return c, true
	case *v1alpha1.UpstreamGroup:
		c := o.DeepCopy()
		c.APIVersion, c.Kind = gv, v1alpha1.KindUpstreamGroup
		c.Default()
		return c, true
	case *v1alpha1.VirtualService:
		c := o.DeepCopy()
		c.APIVersion, c.Kind = gv, v1alpha1.KindVirtualService
		c.Default()
		return c, true
	case *v1alpha1.Gateway:
		c := o.DeepCopy()
		c.APIVersion, c.Kind = gv, v1alpha1.KindGateway
		c.Default()
		return c, true
	case *v1alpha1.Canary:
		c := o.DeepCopy()
		c.APIVersion, c.Kind = gv, v1alpha1.KindCanary
		c.Default()
		return c, true
	}
	return nil, false
}
