package translator

import (
	"math"
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// groupEntry is one UpstreamGroup with its effective, resolved split.
type groupEntry struct {
	key key
	ref ident.Ref
	// ok is false when the group is rejected; routes using it answer 503.
	ok       bool
	clusters []WeightedCluster
	// mirror is the active Canary's mirror, added to every route using the group.
	mirror *Mirror
	// notes are the group's warnings, repeated on the routes that use it.
	notes []string
}

// compileGroups resolves every UpstreamGroup: weights from the spec or,
// while a Canary is active, from its override; destinations naming a
// missing or rejected Upstream are dropped.
func (c *compiler) compileGroups() {
	list, keys, reps := objects(c, v1alpha1.KindUpstreamGroup, c.in.UpstreamGroups)
	entries := make([]groupEntry, len(list))
	for i, g := range list {
		k := keys[i]
		e := &entries[i]
		*e = groupEntry{key: k, ref: objRef(v1alpha1.KindUpstreamGroup, k)}
		c.groups[k] = e
		c.compileGroup(e, g, reps[i])
	}
}

// compileGroup resolves one UpstreamGroup, reporting at rep.
func (c *compiler) compileGroup(e *groupEntry, g *v1alpha1.UpstreamGroup, rep int32) {
	k := e.key
	if c.rep.rejectAll(rep, g.Validate()) {
		return
	}
	p := problems{rep: c.rep, i: rep}
	ds := g.Spec.Destinations
	var weights map[string]uint32 // nil: the spec's
	ov, hasOverride := c.in.Overrides[k.String()]
	if hasOverride && len(ov.Weights) > 0 {
		var total uint64
		for i := range ds {
			total += uint64(ov.Weights[refKey(ds[i].Destination.Upstream, k.ns).String()])
		}
		if total > 0 {
			weights = ov.Weights
		} else {
			p.warn("spec.destinations", "the weights of Canary "+ov.Canary+" name no destination of this group with a positive weight; using the spec's weights")
		}
	}
	clusters, notes, fail := c.split(&p, "spec.destinations", ds, k.ns, weights)
	e.notes = notes
	if fail != "" {
		p.reject("spec.destinations", fail)
		return
	}
	e.ok, e.clusters = true, clusters
	if hasOverride && ov.Mirror != nil {
		if cl, why := c.reference(ov.Mirror.Upstream, k.ns); cl != nil {
			e.mirror = &Mirror{Cluster: cl.Name, PerMillion: perMillion(ov.Mirror.Percentage)}
		} else {
			msg := "mirror of Canary " + ov.Canary + ": " + why + "; mirror dropped"
			p.warn("", msg)
			e.notes = append(e.notes, msg)
		}
	}
}

// split resolves weighted destinations in namespace ns, with the weights
// of the spec or, when weights is not nil, the weights it gives by Upstream
// "namespace/name" (a Canary's override). A destination
// naming a missing or rejected Upstream is dropped with a Warning at its
// field path; the notes say what was dropped, for the routes that use it.
// It fails, saying why, when no destination with a positive weight is left
// or the weights overflow 32 bits; otherwise the clusters count as
// referenced.
func (c *compiler) split(p *problems, fieldPath string, ds []v1alpha1.WeightedDestination, ns string, weights map[string]uint32) ([]WeightedCluster, []string, string) {
	out := make([]WeightedCluster, 0, len(ds))
	var buf [4]*Cluster // most splits are small; no allocation for them
	found := buf[:0]
	var notes []string
	var total uint64
	for i := range ds {
		cl, why := c.lookupUpstream(ds[i].Destination.Upstream, ns)
		if cl == nil {
			fp := fieldPath + "[" + strconv.Itoa(i) + "].destination.upstream"
			p.warn(fp, why+"; destination dropped")
			notes = append(notes, fp+": "+why+"; destination dropped")
			continue
		}
		w := uint64(max(ds[i].Weight, 0))
		if weights != nil {
			w = uint64(weights[refKey(ds[i].Destination.Upstream, ns).String()])
		}
		total += w
		out = append(out, WeightedCluster{Name: cl.Name, Weight: uint32(min(w, math.MaxUint32))})
		found = append(found, cl)
	}
	switch {
	case total == 0:
		return nil, notes, "no destination with a positive weight is left"
	case total > math.MaxUint32:
		// Envoy refuses weighted clusters whose weights overflow 32 bits.
		return nil, notes, "weights add up to more than 4294967295"
	}
	for _, cl := range found {
		c.referenced[cl.Name] = cl
	}
	return out, notes, ""
}

// lookupGroup resolves a group reference from namespace ns.
func (c *compiler) lookupGroup(r v1alpha1.ResourceRef, ns string) (*groupEntry, string) {
	k := refKey(r, ns)
	g, ok := c.groups[k]
	if !ok {
		return nil, "UpstreamGroup " + k.String() + " not found"
	}
	if !g.ok {
		return nil, "UpstreamGroup " + k.String() + " is rejected"
	}
	return g, ""
}
