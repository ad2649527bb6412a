package translator

import (
	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// compileCanaries reports on every Canary: Validate's problems, and a
// Warning for each reference that names nothing (or something rejected),
// or an upstream that is not a destination of the group. The engine acts on
// canaries; the translator only reads their effect (Input.Overrides).
func (c *compiler) compileCanaries() {
	list, keys, reps := objects(c, v1alpha1.KindCanary, c.in.Canaries)
	for i, cn := range list {
		k := keys[i]
		if c.rep.rejectAll(reps[i], cn.Validate()) {
			continue
		}
		p := problems{rep: c.rep, i: reps[i]}
		g, why := c.lookupGroup(cn.Spec.UpstreamGroup, k.ns)
		if g == nil {
			p.warn("spec.upstreamGroup", why)
		}
		for _, u := range []struct {
			field string
			ref   v1alpha1.ResourceRef
		}{{"spec.stable", cn.Spec.Stable}, {"spec.canary", cn.Spec.Canary}} {
			cl, why := c.reference(u.ref, k.ns)
			if cl == nil {
				p.warn(u.field, why)
				continue
			}
			if g != nil && !hasCluster(g.clusters, cl.Name) {
				p.warn(u.field, "Upstream "+refKey(u.ref, k.ns).String()+" is not a destination of UpstreamGroup "+g.key.String())
			}
		}
	}
}

func hasCluster(ws []WeightedCluster, name string) bool {
	for _, w := range ws {
		if w.Name == name {
			return true
		}
	}
	return false
}
