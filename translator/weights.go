package translator

import (
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// groupResult is an UpstreamGroup with its effective, resolved split.
type groupResult struct {
	// ok is false when the group is rejected; routes using it answer 503.
	ok       bool
	clusters []WeightedCluster
	// mirror is the active Canary's mirror, added to every route using the group.
	mirror *Mirror
	// notes are the group's warnings, repeated on the routes that use it.
	notes []string
	// refs are the clusters the group references.
	refs []string
	// sticky, set while a Canary with stickiness drives the group, is the
	// hash policy routes using it add (with useHashPolicy); clusters then
	// list the canary first.
	sticky *HashPolicy
	// cohort, set while an abTest Canary drives the group, is the route
	// routes using it get before them.
	cohort *cohort
}

// cohort is what an abTest Canary adds before every route using its
// group: the same route, matching the cohort's headers too, sending
// everything to the canary cluster.
type cohort struct {
	headers []HeaderMatch
	cluster string
}

// compileGroup resolves one UpstreamGroup: weights from the spec or, while
// a Canary is active, from its override; destinations naming a missing or
// rejected Upstream are dropped.
func compileGroup(c *compiler, g *cell[*v1alpha1.UpstreamGroup, groupResult]) groupResult {
	if c.p.rejectAll(g.obj.Validate()) {
		return groupResult{}
	}
	var e groupResult
	ds := g.obj.Spec.Destinations
	var weights map[ident.Key]uint32 // nil: the spec's
	ov, hasOverride := c.t.in.Overrides[g.key]
	if hasOverride && len(ov.Weights) > 0 {
		var total uint64
		for i := range ds {
			total += uint64(ov.Weights[ident.RefKey(ds[i].Destination.Upstream, c.ns)])
		}
		if total > 0 {
			weights = ov.Weights
		} else {
			c.p.warn("spec.destinations", "the weights of Canary "+ov.Canary.String()+" name no destination of this group with a positive weight; using the spec's weights")
		}
	}
	clusters, notes, fail := c.split("spec.destinations", ds, weights)
	e.notes = notes
	if fail != "" {
		c.p.reject("spec.destinations", fail)
		e.refs = c.refsCopy()
		return e
	}
	e.ok, e.clusters = true, clusters
	if hasOverride && (ov.Stickiness != nil || ov.Cohort != nil) {
		c.release(&e, ov)
	}
	if hasOverride && ov.Mirror != nil {
		if cl, why := c.reference(ov.Mirror.Upstream); cl != "" {
			e.mirror = &Mirror{Cluster: cl, PerMillion: perMillion(ov.Mirror.Percentage)}
		} else {
			msg := "mirror of Canary " + ov.Canary.String() + ": " + why + "; mirror dropped"
			c.p.warn("", msg)
			e.notes = append(e.notes, msg)
		}
	}
	e.refs = c.refsCopy()
	return e
}

// release applies what a Canary's strategy adds to the routes that use
// its group: stickiness (a hash policy, the canary first) and the abTest
// cohort. Each needs the canary Upstream (GroupOverride.Upstream); one that
// cannot be applied is dropped with a Warning, and the routes keep the
// override's weights.
func (c *compiler) release(e *groupResult, ov GroupOverride) {
	who := "Canary " + ov.Canary.String()
	var canary, why string
	if ov.Upstream.Name == "" {
		why = "names no canary Upstream"
	} else {
		canary, why = c.lookupUpstream(v1alpha1.ResourceRef{Name: ov.Upstream.Name, Namespace: ov.Upstream.Namespace})
	}
	drop := func(what, why string) {
		msg := what + " of " + who + ": " + why + "; dropped"
		c.p.warn("", msg)
		e.notes = append(e.notes, msg)
	}
	if st := ov.Stickiness; st != nil {
		i := slices.IndexFunc(e.clusters, func(wc WeightedCluster) bool { return wc.Name == canary })
		switch {
		case canary == "":
			drop("stickiness", why)
		case i < 0:
			drop("stickiness", "Upstream "+ov.Upstream.String()+" is not a destination of the group")
		default:
			if h, bad := stickyHash(st); bad != "" {
				drop("stickiness", bad)
			} else {
				// The canary first: Envoy picks the cluster whose range of
				// hash % total holds the request's, in the order listed, so
				// the canary's range [0, weight) only grows with its weight.
				clusters := make([]WeightedCluster, 0, len(e.clusters))
				clusters = append(clusters, e.clusters[i])
				clusters = append(clusters, e.clusters[:i]...)
				e.clusters = append(clusters, e.clusters[i+1:]...)
				e.sticky = h
			}
		}
	}
	if ab := ov.Cohort; ab != nil {
		if canary == "" {
			drop("the abTest cohort", why)
		} else if hs, bad := cohortHeaders(ab); bad != "" {
			drop("the abTest cohort", bad)
		} else {
			c.refs = append(c.refs, canary)
			e.cohort = &cohort{headers: hs, cluster: canary}
		}
	}
}

// sameGroup: the shape is acceptance, the clusters split over and the
// mirror cluster; the content is all of it.
func sameGroup(a, b groupResult) (shape, content bool) {
	shape = a.ok == b.ok && len(a.clusters) == len(b.clusters) && (a.mirror == nil) == (b.mirror == nil) &&
		slices.Equal(a.refs, b.refs) && (a.cohort == nil) == (b.cohort == nil)
	if shape && a.cohort != nil {
		shape = a.cohort.cluster == b.cohort.cluster
	}
	for i := 0; shape && i < len(a.clusters); i++ {
		shape = a.clusters[i].Name == b.clusters[i].Name
	}
	if shape && a.mirror != nil {
		shape = a.mirror.Cluster == b.mirror.Cluster
	}
	return shape, shape && reflect.DeepEqual(a, b)
}

// split resolves weighted destinations in namespace ns, with the weights
// of the spec or, when weights is not nil, the weights it gives by Upstream
// (a Canary's override). A destination
// naming a missing or rejected Upstream is dropped with a Warning at its
// field path; the notes say what was dropped, for the routes that use it.
// It fails, saying why, when no destination with a positive weight is left
// or the weights overflow 32 bits; otherwise the clusters count as
// referenced.
func (c *compiler) split(fieldPath string, ds []v1alpha1.WeightedDestination, weights map[ident.Key]uint32) ([]WeightedCluster, []string, string) {
	p := &c.p
	out := make([]WeightedCluster, 0, len(ds))
	var notes []string
	var total uint64
	for i := range ds {
		cl, why := c.lookupUpstream(ds[i].Destination.Upstream)
		if cl == "" {
			fp := fieldPath + "[" + strconv.Itoa(i) + "].destination.upstream"
			p.warn(fp, why+"; destination dropped")
			notes = append(notes, fp+": "+why+"; destination dropped")
			continue
		}
		w := uint64(max(ds[i].Weight, 0))
		if weights != nil {
			w = uint64(weights[ident.RefKey(ds[i].Destination.Upstream, c.ns)])
		}
		total += w
		out = append(out, WeightedCluster{Name: cl, Weight: uint32(min(w, math.MaxUint32))})
	}
	switch {
	case total == 0:
		return nil, notes, "no destination with a positive weight is left"
	case total > math.MaxUint32:
		// Envoy refuses weighted clusters whose weights overflow 32 bits.
		return nil, notes, "weights add up to more than 4294967295"
	}
	for _, wc := range out {
		c.refs = append(c.refs, wc.Name)
	}
	return out, notes, ""
}
