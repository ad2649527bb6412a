package translator

import (
	"slices"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// canaryResult is what a Canary adds to the configuration: the clusters
// of its upstreams, which must exist (warm) before the engine routes to them.
type canaryResult struct {
	refs []string
}

// compileCanary reports on a Canary: Validate's problems, and a Warning
// for each reference that names nothing (or something rejected), or an
// upstream that is not a destination of the group. The engine acts on
// canaries; the translator only reads their effect (Input.Overrides).
func compileCanary(c *compiler, cn *cell[*v1alpha1.Canary, canaryResult]) canaryResult {
	if c.p.rejectAll(cn.obj.Validate()) {
		return canaryResult{}
	}
	g, why := c.lookupGroup(cn.obj.Spec.UpstreamGroup, false)
	if why != "" {
		c.p.warn("spec.upstreamGroup", why)
		g = nil
	}
	for _, u := range []struct {
		field string
		ref   v1alpha1.ResourceRef
	}{{"spec.stable", cn.obj.Spec.Stable}, {"spec.canary", cn.obj.Spec.Canary}} {
		cl, why := c.reference(u.ref)
		if cl == "" {
			c.p.warn(u.field, why)
			continue
		}
		if g != nil && !hasCluster(g.res.clusters, cl) {
			c.p.warn(u.field, "Upstream "+ident.RefKey(u.ref, c.ns).String()+" is not a destination of UpstreamGroup "+g.key.String())
		}
	}
	return canaryResult{refs: c.refsCopy()}
}

func sameCanary(a, b canaryResult) (shape, content bool) {
	shape = slices.Equal(a.refs, b.refs)
	return shape, shape
}

func hasCluster(ws []WeightedCluster, name string) bool {
	for _, w := range ws {
		if w.Name == name {
			return true
		}
	}
	return false
}
