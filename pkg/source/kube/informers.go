package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	serininformers "github.com/serin-dev/serin/pkg/client/informers/externalversions"
)

// Index names on the informers' caches.
const (
	// indexService maps an Upstream to the "namespace/name" of the Service
	// its kube spec names, and an EndpointSlice to its Service.
	indexService = "service"
	// indexSelectorNS maps an Upstream with a pod selector to its Service's
	// namespace, so a pod label change finds the upstreams it may affect.
	indexSelectorNS = "selectorNamespace"
)

// lastApplied is kubectl's copy of the whole object; serin never reads it
// and it doubles the memory an object takes in the cache.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// namespaceInformers are the informers for one watched namespace ("" for all).
type namespaceInformers struct {
	serin    serininformers.SharedInformerFactory
	core     informers.SharedInformerFactory
	meta     metadatainformer.SharedInformerFactory
	kinds    map[string]cache.SharedIndexInformer // by serin kind
	services cache.SharedIndexInformer
	slices   cache.SharedIndexInformer
	pods     cache.SharedIndexInformer
}

func newNamespaceInformers(sc serinclient.Interface, kc kubernetes.Interface, mc metadata.Interface, ns string, resync time.Duration) *namespaceInformers {
	n := &namespaceInformers{
		serin: serininformers.NewSharedInformerFactoryWithOptions(sc, resync, serininformers.WithNamespace(ns), serininformers.WithTransform(slim)),
		core:  informers.NewSharedInformerFactoryWithOptions(kc, resync, informers.WithNamespace(ns), informers.WithTransform(slim)),
		meta:  metadatainformer.NewFilteredSharedInformerFactory(mc, resync, ns, nil),
	}
	v := n.serin.Serin().V1alpha1()
	n.kinds = map[string]cache.SharedIndexInformer{
		v1alpha1.KindUpstream:       v.Upstreams().Informer(),
		v1alpha1.KindUpstreamGroup:  v.UpstreamGroups().Informer(),
		v1alpha1.KindVirtualService: v.VirtualServices().Informer(),
		v1alpha1.KindGateway:        v.Gateways().Informer(),
		v1alpha1.KindCanary:         v.Canaries().Informer(),
	}
	n.services = n.core.Core().V1().Services().Informer()
	n.slices = n.core.Discovery().V1().EndpointSlices().Informer()
	n.pods = n.meta.ForResource(corev1.SchemeGroupVersion.WithResource("pods")).Informer()
	// Errors here mean the informer already started, which cannot happen
	// before start; ignore them like client-go's own controllers do.
	_ = n.pods.SetTransform(slim)
	_ = n.kinds[v1alpha1.KindUpstream].AddIndexers(cache.Indexers{
		indexService:    upstreamServiceIndex,
		indexSelectorNS: upstreamSelectorIndex,
	})
	_ = n.slices.AddIndexers(cache.Indexers{indexService: sliceServiceIndex})
	return n
}

func (n *namespaceInformers) start(stop <-chan struct{}) {
	n.serin.Start(stop)
	n.core.Start(stop)
	n.meta.Start(stop)
}

func (n *namespaceInformers) synced() []cache.InformerSynced {
	out := []cache.InformerSynced{n.services.HasSynced, n.slices.HasSynced, n.pods.HasSynced}
	for _, inf := range n.kinds {
		out = append(out, inf.HasSynced)
	}
	return out
}

// slim drops what serin never reads from cached objects: managed fields
// and kubectl's last-applied copy (together often larger than the spec).
func slim(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			b := make(map[string]string, len(a)-1)
			for k, v := range a {
				if k != lastApplied {
					b[k] = v
				}
			}
			m.SetAnnotations(b)
		}
	}
	return obj, nil
}

// kubeServiceKey returns the "namespace/name" of the Service a kube
// Upstream names, or "" for other upstreams.
func kubeServiceKey(u *v1alpha1.Upstream) string {
	k := u.Spec.Kube
	if k == nil || k.ServiceName == "" {
		return ""
	}
	ns := k.ServiceNamespace
	if ns == "" {
		ns = namespaceOf(u)
	}
	return ns + "/" + k.ServiceName
}

func namespaceOf(o metav1.Object) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns
	}
	return v1alpha1.DefaultNamespace
}

func upstreamServiceIndex(obj any) ([]string, error) {
	u, ok := obj.(*v1alpha1.Upstream)
	if !ok {
		return nil, nil
	}
	if k := kubeServiceKey(u); k != "" {
		return []string{k}, nil
	}
	return nil, nil
}

func upstreamSelectorIndex(obj any) ([]string, error) {
	u, ok := obj.(*v1alpha1.Upstream)
	if !ok || u.Spec.Kube == nil || len(u.Spec.Kube.Selector) == 0 {
		return nil, nil
	}
	ns := u.Spec.Kube.ServiceNamespace
	if ns == "" {
		ns = namespaceOf(u)
	}
	return []string{ns}, nil
}

func sliceServiceIndex(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}
