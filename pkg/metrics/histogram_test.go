package metrics

import (
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	// Bounds in seconds: 10ms, 25ms, 50ms, 100ms; 100 samples:
	// 50 in (0,10], 40 in (10,25], 8 in (25,50], 2 in (50,100].
	h := FromCumulative([]float64{10, 25, 50, 100}, []uint64{50, 90, 98, 100}, 100, 0.001)
	cases := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 10 * time.Millisecond},                         // rank 50 ends bucket 1
		{0.9, 25 * time.Millisecond},                         // rank 90 ends bucket 2
		{0.99, 75 * time.Millisecond},                        // rank 99: 50 + 50*(1/2)
		{0.25, 5 * time.Millisecond},                         // rank 25: 0 + 10*(25/50)
		{0.95, 25*time.Millisecond + 15625*time.Microsecond}, // rank 95: 25 + 25*(5/8)
	}
	for _, c := range cases {
		got, ok := h.Quantile(c.q)
		if !ok || (got-c.want).Abs() > time.Microsecond {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	// Overflow: samples above the largest bound answer the largest bound.
	o := FromCumulative([]float64{10}, []uint64{1}, 100, 0.001)
	if got, _ := o.Quantile(0.99); got != 10*time.Millisecond {
		t.Errorf("overflow q99 = %v, want 10ms", got)
	}
	if _, ok := (Histogram{}).Quantile(0.99); ok {
		t.Error("an empty histogram has no quantile")
	}
}

func TestHistogramSubtractsWindows(t *testing.T) {
	a := FromCumulative([]float64{10, 100}, []uint64{5, 10}, 10, 0.001)
	b := a.clone()
	b.add(FromCumulative(a.Bounds, []uint64{0, 0}, 4, 1)) // 4 samples above 100ms
	d := b.sub(a)
	if d.Count() != 4 || d.Counts[2] != 4 {
		t.Fatalf("window = %+v, want 4 samples in overflow", d)
	}
}

func TestLRSWindowCountsOnlySinceMark(t *testing.T) {
	now := time.Unix(1000, 0)
	p := NewLRS(func() time.Time { return now })
	tg := Target{Namespace: "default", Upstream: "myapp-v2", Cluster: "myapp-v2_default"}
	p.Observe(tg.Cluster, 90, 10, now) // the previous step
	m := p.Mark(tg, now)
	now = now.Add(time.Second)
	p.Observe(tg.Cluster, 45, 5, now) // client a
	p.Observe(tg.Cluster, 30, 0, now) // client b
	p.Observe("other_default", 1, 1, now)
	w, _ := p.Window(t.Context(), tg, m)
	if w.Requests != 80 || w.Errors != 5 || w.ErrorRate() != 6.25 {
		t.Fatalf("window = %+v, want 80 requests and 5 errors", w)
	}
	// A restart loses the baseline: count from the first data after it.
	q := NewLRS(func() time.Time { return now })
	q.Observe(tg.Cluster, 7, 1, now)
	w, _ = q.Window(t.Context(), tg, Mark{Time: now.Add(-time.Minute)})
	if w.Requests != 8 || !w.From.Equal(now) {
		t.Fatalf("window without baseline = %+v, want 8 requests from the first report", w)
	}
}

func TestLRSNotifies(t *testing.T) {
	p := NewLRS(nil)
	got := make(chan string, 1)
	cancel := p.Notify(func(c string, _ time.Time) { got <- c })
	p.Observe("a_default", 1, 0, time.Now())
	if c := <-got; c != "a_default" {
		t.Fatalf("notified %q", c)
	}
	cancel()
	p.Observe("a_default", 1, 0, time.Now())
	select {
	case c := <-got:
		t.Fatalf("notified %q after cancel", c)
	default:
	}
}
