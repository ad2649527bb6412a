package canary

import (
	"context"
	"fmt"
	"time"

	"github.com/serin-dev/serin/pkg/metrics"
)

// meter gathers the numbers the machine judges: the window's baseline
// (marks) and the verdict on what the data plane did since.
type meter struct {
	providers map[string]metrics.Provider
	queries   MetricQuerier
}

// provider is the plan's metrics provider, nil when not configured.
func (m *meter) provider(p *plan) metrics.Provider {
	return m.providers[p.obj.Spec.Analysis.Provider]
}

// marks takes the baseline of both sides' windows now.
func (m *meter) marks(pr metrics.Provider, p *plan, now time.Time) [2]metrics.Mark {
	return [2]metrics.Mark{pr.Mark(p.canaryT, now), pr.Mark(p.stableT, now)}
}

// measure judges the window since the step began.
func (m *meter) measure(ctx context.Context, s *state, withMetrics bool) (*Verdict, error) {
	p := m.provider(s.plan)
	if p == nil {
		return nil, fmt.Errorf("metrics provider %q is not configured on this server", s.plan.obj.Spec.Analysis.Provider)
	}
	cw, err := p.Window(ctx, s.plan.canaryT, s.marks[0])
	if err != nil {
		return nil, err
	}
	sw, err := p.Window(ctx, s.plan.stableT, s.marks[1])
	if err != nil {
		return nil, err
	}
	var custom []MetricValue
	if withMetrics {
		custom = m.custom(ctx, s.plan, cw.From, cw.To)
	}
	v := Judge(s.plan.limits, side(cw), side(sw), custom)
	return &v, nil
}

// overLimit is the cheap test a report gets: whether the canary side
// crosses an absolute limit with enough samples. Only then is the full
// verdict (with its words) worth computing.
func (m *meter) overLimit(ctx context.Context, s *state) bool {
	l := &s.plan.limits
	cw, err := m.provider(s.plan).Window(ctx, s.plan.canaryT, s.marks[0])
	if err != nil || int64(cw.Requests) < l.MinRequests || cw.Requests == 0 {
		return false
	}
	if l.MaxErrorRate >= 0 && cw.ErrorRate() > l.MaxErrorRate {
		return true
	}
	if l.MaxLatencyP99 > 0 {
		if p99, ok := cw.Quantile(0.99); ok && p99 > l.MaxLatencyP99 {
			return true
		}
	}
	return false
}

func side(w metrics.Window) Side {
	s := Side{Requests: w.Requests, Errors: w.Errors}
	s.P99, s.HasP99 = w.Quantile(0.99)
	return s
}

func (m *meter) custom(ctx context.Context, p *plan, from, to time.Time) []MetricValue {
	var out []MetricValue
	for _, mt := range p.obj.Spec.Analysis.Metrics {
		mv := MetricValue{Name: mt.Name, Min: mt.Min, Max: mt.Max}
		if m.queries == nil {
			mv.Err = "no Prometheus configured (--prometheus-url)"
		} else if v, err := m.queries.Query(ctx, mt.Query, metrics.Vars{Target: p.canaryT, Interval: to.Sub(from)}); err != nil {
			mv.Err = err.Error()
		} else {
			mv.Value = v
		}
		out = append(out, mv)
	}
	return out
}
