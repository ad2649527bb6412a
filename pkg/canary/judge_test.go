package canary

import (
	"strings"
	"testing"
	"time"
)

func pct(v float64) *float64 { return &v }

func TestJudge(t *testing.T) {
	l := Limits{MinRequests: 100, MaxErrorRate: 1, MaxLatencyP99: 500 * time.Millisecond, Confidence: 0.99, MaxLatencyRatio: 1.5}
	stable := Side{Requests: 10000, Errors: 10, P99: 100 * time.Millisecond, HasP99: true}
	cases := []struct {
		name   string
		canary Side
		want   Result
		hard   bool
		reason string
	}{
		{"too few requests", Side{Requests: 99, Errors: 50}, Insufficient, false, "99 of 100"},
		{"healthy", Side{Requests: 1000, Errors: 1, P99: 110 * time.Millisecond, HasP99: true}, Pass, false, "passed"},
		{"error rate over the limit", Side{Requests: 1000, Errors: 52}, Fail, true, "canary error rate 5.20% (52 of 1000) over limit 1.00%"},
		{"p99 over the limit", Side{Requests: 1000, P99: 600 * time.Millisecond, HasP99: true}, Fail, true, "canary p99 600ms over limit 500ms"},
		// 0.8% is under the 1% limit but significantly worse than 0.1%.
		{"worse than stable", Side{Requests: 1000, Errors: 8, P99: 100 * time.Millisecond, HasP99: true}, Fail, false, "vs stable"},
		{"slower than stable", Side{Requests: 1000, P99: 200 * time.Millisecond, HasP99: true}, Fail, false, "= 2.00 over limit 1.50"},
	}
	for _, c := range cases {
		v := Judge(l, c.canary, stable, nil)
		if v.Result != c.want || v.Hard != c.hard || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: %s hard=%v %q, want %s hard=%v containing %q", c.name, v.Result, v.Hard, v.Reason, c.want, c.hard, c.reason)
		}
		if v.Canary != c.canary || v.Stable != stable || len(v.Checks) == 0 {
			t.Errorf("%s: the verdict must carry its numbers: %+v", c.name, v)
		}
	}
	// Custom metrics: out of bounds fails, no data holds.
	v := Judge(l, Side{Requests: 1000}, stable, []MetricValue{{Name: "cpu", Value: 0.9, Max: pct(0.8)}})
	if v.Result != Fail || !strings.Contains(v.Reason, "metric cpu = 0.9 above max 0.8") {
		t.Errorf("metric over max: %s %q", v.Result, v.Reason)
	}
	v = Judge(l, Side{Requests: 1000}, stable, []MetricValue{{Name: "cpu", Err: "no data"}})
	if v.Result != Insufficient {
		t.Errorf("metric without data: %s, want Insufficient", v.Result)
	}
}
