package canary

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// inFlight builds an engine with n canaries, each at its first step with
// its window marked and some traffic, and returns it with its clusters.
func inFlight(b *testing.B, n int) (*fixture, []string) {
	b.Helper()
	cs := make([]*v1alpha1.Canary, n)
	for i := range cs {
		cs[i] = testCanary(fmt.Sprintf("app%04d", i))
	}
	f := newFixture(&testing.T{}, nil, nil, cs...)
	f.due()
	f.clk.Add(2 * time.Second)
	f.due()
	clusters := make([]string, 0, 2*n)
	for i := range cs {
		name := cs[i].Name
		f.traffic(name, 10, 0, 1000, 1, 0)
		clusters = append(clusters, name+"-v2_default", name+"-v1_default")
	}
	if v := f.view("app0000"); v.Phase != v1alpha1.PhaseProgressing {
		b.Fatalf("setup: %s", v.Phase)
	}
	return f, clusters
}

// BenchmarkReport is the engine's cost per LRS report with 1,000 canaries
// in flight: the provider adds the report, the engine is notified,
// coalesces, finds the canaries judging that cluster and checks them for a
// hard breach.
func BenchmarkReport(b *testing.B) {
	f, clusters := inFlight(b, 1000)
	ctx := context.Background()
	now := f.clk.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := clusters[i%len(clusters)]
		f.lrs.Observe(c, 5, 0, now)
		f.e.onReport("lrs", c, now)
		f.e.reports(ctx)
	}
}

// BenchmarkIntervalCheck is one full judgement (both windows, the
// statistical test, the verdict's words) of one canary among 1,000.
func BenchmarkIntervalCheck(b *testing.B) {
	f, _ := inFlight(b, 1000)
	ctx := context.Background()
	rs := make([]*rollout, 0, len(f.e.rollouts))
	for _, r := range f.e.rollouts {
		rs = append(rs, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.e.meter.measure(ctx, &rs[i%len(rs)].st, false); err != nil {
			b.Fatal(err)
		}
	}
}
