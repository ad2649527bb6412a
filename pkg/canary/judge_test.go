package canary

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// hypergeomTail is the reference for Fisher's test, computed exactly with
// big integers: sum over k >= x1 of C(K,k) C(N-K,n-k) / C(N,n).
func hypergeomTail(x1, n1, x2, n2 int64) float64 {
	N, K, n := n1+n2, x1+x2, n1
	num := new(big.Int)
	for k := x1; k <= min(K, n); k++ {
		t := new(big.Int).Binomial(K, k)
		t.Mul(t, new(big.Int).Binomial(N-K, n-k))
		num.Add(num, t)
	}
	r := new(big.Rat).SetFrac(num, new(big.Int).Binomial(N, n))
	f, _ := r.Float64()
	return f
}

func TestFisherKnownAnswers(t *testing.T) {
	cases := []struct {
		x1, n1, x2, n2 uint64
		want           float64 // by hand or from the literature
	}{
		// Fisher's lady tasting tea, 3 of 4 right: 17/70.
		{3, 4, 1, 4, 17.0 / 70},
		// 5 of 10 canary calls failed, none of 10 stable: C(15,5)/C(20,10) = 3003/184756.
		{5, 10, 0, 10, 3003.0 / 184756},
		// A 1% step: 2 of 50 canary errors, 0 of 1000 stable:
		// 1 - [C(1048,50) + 2 C(1048,49)] / C(1050,50) = 0.0022243406418811567.
		{2, 50, 0, 1000, 0.0022243406418811567},
		// No canary error at all: the tail from 0 is 1.
		{0, 30, 3, 3000, 1},
	}
	for _, c := range cases {
		got := FisherGreater(c.x1, c.n1, c.x2, c.n2)
		ref := hypergeomTail(int64(c.x1), int64(c.n1), int64(c.x2), int64(c.n2))
		if math.Abs(got-c.want) > 1e-9*math.Max(1, c.want) || math.Abs(ref-c.want) > 1e-12 {
			t.Errorf("Fisher(%d/%d vs %d/%d) = %.10g, reference %.10g, want %.10g", c.x1, c.n1, c.x2, c.n2, got, ref, c.want)
		}
	}
	// Against the exact reference over a grid of small tables.
	for n1 := int64(1); n1 <= 12; n1 += 3 {
		for n2 := int64(1); n2 <= 40; n2 += 13 {
			for x1 := int64(0); x1 <= n1; x1++ {
				for x2 := int64(0); x2 <= n2; x2 += 3 {
					got := FisherGreater(uint64(x1), uint64(n1), uint64(x2), uint64(n2))
					ref := hypergeomTail(x1, n1, x2, n2)
					if math.Abs(got-ref) > 1e-9 {
						t.Fatalf("Fisher(%d/%d vs %d/%d) = %.12g, exact %.12g", x1, n1, x2, n2, got, ref)
					}
				}
			}
		}
	}
}

func TestTwoProportionZKnownAnswers(t *testing.T) {
	// Reference values from the textbook formula evaluated independently
	// (Python: pooled p, se = sqrt(p(1-p)(1/n1+1/n2)), 0.5*erfc(z/sqrt 2)).
	cases := []struct {
		x1, n1, x2, n2 uint64
		z, p           float64
	}{
		{30, 200, 20, 400, 4.177863742936748, 1.4712992018091959e-05},
		{52, 1000, 100, 10000, 10.847983120084471, 1.0193718361213889e-27},
		{12, 1000, 100, 10000, 0.6006801365370307, 0.27402652577726927},
	}
	for _, c := range cases {
		test, z, p := CompareErrors(c.x1, c.n1, c.x2, c.n2)
		if test != "two-proportion-z" {
			t.Errorf("%d/%d vs %d/%d used %s, want the z-test", c.x1, c.n1, c.x2, c.n2, test)
		}
		if math.Abs(z-c.z) > 1e-9 || math.Abs(p-c.p) > 1e-9*c.p {
			t.Errorf("%d/%d vs %d/%d: z=%.12g p=%.12g, want z=%.12g p=%.12g", c.x1, c.n1, c.x2, c.n2, z, p, c.z, c.p)
		}
	}
	// The 1.645 / 0.05 landmark.
	if p := 0.5 * math.Erfc(1.6448536269514722/math.Sqrt2); math.Abs(p-0.05) > 1e-12 {
		t.Errorf("one-sided p at z=1.645 = %v", p)
	}
	// Small counts switch to Fisher.
	if test, _, p := CompareErrors(2, 50, 0, 1000); test != "fisher-exact" || math.Abs(p-0.0022243406418811567) > 1e-12 {
		t.Errorf("small counts: %s p=%v, want fisher-exact 0.00222", test, p)
	}
}

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
