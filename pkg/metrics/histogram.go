package metrics

import (
	"math"
	"slices"
	"time"
)

// Histogram is a latency distribution over fixed buckets: Counts[i] is the
// number of samples in (Bounds[i-1], Bounds[i]] (seconds), and the last
// count, one past the bounds, is the overflow above the largest bound.
// Histograms with the same bounds add and subtract bucket by bucket, which
// is what makes "since the step began" exact.
type Histogram struct {
	Bounds []float64
	Counts []uint64
}

// Count is the number of samples.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

func (h Histogram) clone() Histogram {
	return Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts)}
}

// sameBounds compares bounds; the slices are usually shared.
func sameBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// add adds o into h. A histogram with other bounds replaces an empty h and
// is otherwise dropped: Envoy's bucket bounds are fixed per histogram, so a
// change means a reconfigured sink, and mixing would corrupt quantiles.
func (h *Histogram) add(o Histogram) bool {
	if len(o.Counts) == 0 {
		return true
	}
	if len(h.Counts) == 0 {
		h.Bounds = o.Bounds
		h.Counts = slices.Clone(o.Counts)
		return true
	}
	if !sameBounds(h.Bounds, o.Bounds) || len(h.Counts) != len(o.Counts) {
		return false
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	return true
}

// sub returns h - base bucket by bucket; a base with other bounds or larger
// counts (it cannot be a prefix of h) gives h itself.
func (h Histogram) sub(base Histogram) Histogram {
	if len(base.Counts) == 0 || !sameBounds(h.Bounds, base.Bounds) || len(h.Counts) != len(base.Counts) {
		return h.clone()
	}
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts))}
	for i := range h.Counts {
		if base.Counts[i] > h.Counts[i] {
			return h.clone()
		}
		out.Counts[i] = h.Counts[i] - base.Counts[i]
	}
	return out
}

// FromCumulative builds a histogram from Prometheus-style cumulative bucket
// counts (samples <= each bound) and the total sample count. scale converts
// bounds to seconds (0.001 for Envoy's millisecond histograms). Bounds must
// increase; non-monotonic counts are clamped.
func FromCumulative(bounds []float64, cumulative []uint64, total uint64, scale float64) Histogram {
	h := Histogram{Bounds: make([]float64, len(bounds)), Counts: make([]uint64, len(bounds)+1)}
	var prev uint64
	for i, b := range bounds {
		h.Bounds[i] = b * scale
		c := cumulative[i]
		if c < prev {
			c = prev
		}
		h.Counts[i] = c - prev
		prev = c
	}
	if total > prev {
		h.Counts[len(bounds)] = total - prev
	}
	return h
}

// Quantile estimates the q-quantile the way Prometheus' histogram_quantile
// does: find the bucket holding rank q*count and interpolate linearly in
// it. The first bucket starts at 0; a rank in the overflow bucket answers
// the largest bound (a lower bound of the truth).
func (h Histogram) Quantile(q float64) (time.Duration, bool) {
	n := h.Count()
	if n == 0 || len(h.Bounds) == 0 || math.IsNaN(q) {
		return 0, false
	}
	q = min(max(q, 0), 1)
	rank := q * float64(n)
	var cum float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			if i == len(h.Bounds) {
				return seconds(h.Bounds[len(h.Bounds)-1]), true
			}
			lo := 0.0
			if i > 0 {
				lo = h.Bounds[i-1]
			}
			hi := h.Bounds[i]
			return seconds(lo + (hi-lo)*(rank-cum)/float64(c)), true
		}
		cum = next
	}
	return seconds(h.Bounds[len(h.Bounds)-1]), true
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
