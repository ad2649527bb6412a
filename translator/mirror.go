package translator

import (
	"math"
	"strconv"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// perMillion turns a percentage (0-100, four decimals) into a share of
// 1,000,000, Envoy's finest denominator: 12.3456% is 123456.
func perMillion(pct float64) uint32 {
	if !(pct > 0) { // also NaN
		return 0
	}
	if pct >= 100 {
		return 1000000
	}
	return uint32(math.Round(pct * 10000))
}

// mirrorsIR resolves a route's shadowing and mirrors. A mirror naming a
// missing or rejected Upstream is dropped with a Warning.
func (c *compiler) mirrorsIR(fieldPath string, o *v1alpha1.RouteOptions) []Mirror {
	p := &c.p
	n := len(o.Mirrors)
	if o.Shadowing != nil {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]Mirror, 0, n)
	add := func(fp string, m *v1alpha1.Mirror) {
		cl, why := c.reference(m.Upstream)
		if cl == "" {
			p.warn(fp+".upstream", why+"; mirror dropped")
			return
		}
		out = append(out, Mirror{Cluster: cl, PerMillion: perMillion(m.Percentage)})
	}
	if o.Shadowing != nil {
		add(fieldPath+".shadowing", o.Shadowing)
	}
	for i := range o.Mirrors {
		add(fieldPath+".mirrors["+strconv.Itoa(i)+"]", &o.Mirrors[i])
	}
	return out
}
