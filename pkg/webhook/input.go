package webhook

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/translator"
)

// withObject returns the input with obj added, or in place of the stored
// object of the same kind and key. The input's slices are shared with the
// store, so the changed one is copied, never modified.
func withObject(in *translator.Input, obj metav1.Object) *translator.Input {
	out := *in
	switch o := obj.(type) {
	case *v1alpha1.Upstream:
		out.Upstreams = replace(in.Upstreams, o)
	case *v1alpha1.UpstreamGroup:
		out.UpstreamGroups = replace(in.UpstreamGroups, o)
	case *v1alpha1.VirtualService:
		out.VirtualServices = replace(in.VirtualServices, o)
	case *v1alpha1.Gateway:
		out.Gateways = replace(in.Gateways, o)
	case *v1alpha1.Canary:
		out.Canaries = replace(in.Canaries, o)
	}
	return &out
}

// replace keeps the list's order (sorted by namespace/name, as the store
// returns it): rules like "the first VirtualService to claim a domain wins"
// depend on it.
func replace[T metav1.Object](list []translator.Object[T], obj T) []translator.Object[T] {
	out := make([]translator.Object[T], 0, len(list)+1)
	placed := false
	add := func(o T) { out = append(out, translator.Object[T]{Obj: o}) }
	for _, w := range list {
		o := w.Obj
		if !placed {
			if o.GetNamespace() == obj.GetNamespace() && o.GetName() == obj.GetName() {
				add(obj)
				placed = true
				continue
			}
			if less(obj, o) {
				add(obj)
				placed = true
			}
		}
		out = append(out, w)
	}
	if !placed {
		add(obj)
	}
	return out
}

func less(a, b metav1.Object) bool {
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}
