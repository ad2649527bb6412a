package store

import (
	"sort"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// refID renders a reference index value.
func refID(kind string, k Key) string { return kind + "/" + k.Namespace + "/" + k.Name }

// referencesOf lists, sorted and without duplicates, the objects obj names.
func referencesOf(obj any) []string {
	set := map[string]struct{}{}
	add := func(kind string, r v1alpha1.ResourceRef, ns string) {
		if r.Name == "" {
			return
		}
		set[refID(kind, RefKey(r, ns))] = struct{}{}
	}
	switch o := obj.(type) {
	case *v1alpha1.UpstreamGroup:
		ns := KeyOf(o).Namespace
		for _, d := range o.Spec.Destinations {
			add(v1alpha1.KindUpstream, d.Destination.Upstream, ns)
		}
	case *v1alpha1.VirtualService:
		ns := KeyOf(o).Namespace
		for _, r := range o.Spec.VirtualHost.Routes {
			if a := r.RouteAction; a != nil {
				if a.Single != nil {
					add(v1alpha1.KindUpstream, a.Single.Upstream, ns)
				}
				if a.Multi != nil {
					for _, d := range a.Multi.Destinations {
						add(v1alpha1.KindUpstream, d.Destination.Upstream, ns)
					}
				}
				if a.UpstreamGroup != nil {
					add(v1alpha1.KindUpstreamGroup, *a.UpstreamGroup, ns)
				}
			}
			if opt := r.Options; opt != nil {
				if opt.Shadowing != nil {
					add(v1alpha1.KindUpstream, opt.Shadowing.Upstream, ns)
				}
				for _, m := range opt.Mirrors {
					add(v1alpha1.KindUpstream, m.Upstream, ns)
				}
			}
		}
	case *v1alpha1.Gateway:
		ns := KeyOf(o).Namespace
		for _, r := range o.Spec.VirtualServices {
			add(v1alpha1.KindVirtualService, r, ns)
		}
	case *v1alpha1.Canary:
		ns := KeyOf(o).Namespace
		add(v1alpha1.KindUpstreamGroup, o.Spec.UpstreamGroup, ns)
		add(v1alpha1.KindUpstream, o.Spec.Stable, ns)
		add(v1alpha1.KindUpstream, o.Spec.Canary, ns)
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
