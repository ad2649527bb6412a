package canary

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// Result is what a check concluded.
type Result string

const (
	// Pass: enough requests and every limit and comparison holds.
	Pass Result = "Pass"
	// Fail: a limit or a comparison with the stable failed.
	Fail Result = "Fail"
	// Insufficient: too few requests (or a metric without data) to judge;
	// never a failure, never a pass.
	Insufficient Result = "Insufficient"
)

// Limits are a Canary's analysis, parsed.
type Limits struct {
	MinRequests int64
	// MaxErrorRate in percent; negative means none.
	MaxErrorRate float64
	// MaxLatencyP99; 0 means none.
	MaxLatencyP99 time.Duration
	// Confidence of the error comparison with the stable (e.g. 0.99); 0
	// means no comparison.
	Confidence float64
	// MaxLatencyRatio is the largest canary/stable p99; 0 means none.
	MaxLatencyRatio float64
}

// LimitsOf reads a defaulted analysis.
func LimitsOf(a v1alpha1.CanaryAnalysis) Limits {
	l := Limits{MaxErrorRate: -1, MaxLatencyP99: a.MaxLatencyP99.Get(0)}
	if a.MinRequests != nil {
		l.MinRequests = *a.MinRequests
	}
	if a.MaxErrorRate != nil {
		l.MaxErrorRate = *a.MaxErrorRate
	}
	if c := a.CompareWithStable; c != nil {
		l.Confidence = 0.99
		if c.Confidence != nil {
			l.Confidence = *c.Confidence
		}
		if c.MaxLatencyRatio != nil {
			l.MaxLatencyRatio = *c.MaxLatencyRatio
		}
	}
	return l
}

// Side is one upstream's numbers over the window.
type Side struct {
	Requests uint64        `json:"requests"`
	Errors   uint64        `json:"errors"`
	P99      time.Duration `json:"p99,omitempty"`
	HasP99   bool          `json:"hasP99"`
}

// ErrorRate in percent.
func (s Side) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return 100 * float64(s.Errors) / float64(s.Requests)
}

// MetricValue is a custom (PromQL) metric's value with its bounds.
type MetricValue struct {
	Name  string   `json:"name"`
	Value float64  `json:"value"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
	// Err says why there is no value; such a metric makes the check
	// Insufficient.
	Err string `json:"error,omitempty"`
}

// Check is one test of a verdict with its numbers.
type Check struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	OK     bool    `json:"ok"`
	Detail string  `json:"detail"`
}

// Verdict is a judgement and every number behind it.
type Verdict struct {
	Result Result `json:"result"`
	// Hard says an absolute limit failed with enough samples: roll back at
	// once, whatever failureLimit says.
	Hard   bool   `json:"hard,omitempty"`
	Reason string `json:"reason"`
	Canary Side   `json:"canary"`
	Stable Side   `json:"stable"`
	// Test is "fisher-exact" or "two-proportion-z" when the error rates
	// were compared; PValue is the one-sided p-value of "the canary fails
	// more often than the stable", Z the z statistic (z-test only).
	Test   string  `json:"test,omitempty"`
	Z      float64 `json:"z,omitempty"`
	PValue float64 `json:"pValue,omitempty"`
	// LatencyRatio is canary p99 / stable p99 when both are known.
	LatencyRatio float64       `json:"latencyRatio,omitempty"`
	Checks       []Check       `json:"checks"`
	Metrics      []MetricValue `json:"metrics,omitempty"`
}

// fisherBelow is the smallest expected cell count for which the z-test's
// normal approximation is trusted (the usual rule of thumb: 5); below it
// the error comparison uses Fisher's exact test.
const fisherBelow = 5

// Judge compares the canary with the stable over the same window.
func Judge(l Limits, canary, stable Side, metrics []MetricValue) Verdict {
	v := Verdict{Canary: canary, Stable: stable, Metrics: metrics, Checks: []Check{}}
	v.Checks = append(v.Checks, Check{Name: "minRequests", Value: float64(canary.Requests), Limit: float64(l.MinRequests),
		OK:     int64(canary.Requests) >= l.MinRequests,
		Detail: fmt.Sprintf("%d of %d canary requests since the step began", canary.Requests, l.MinRequests)})
	if int64(canary.Requests) < l.MinRequests {
		v.Result = Insufficient
		v.Reason = fmt.Sprintf("too few requests: %d of %d canary requests since the step began", canary.Requests, l.MinRequests)
		return v
	}
	var hard, soft, unknown []string
	cr := canary.ErrorRate()
	if l.MaxErrorRate >= 0 {
		ok := cr <= l.MaxErrorRate
		d := fmt.Sprintf("canary error rate %.2f%% (%d of %d) %s limit %.2f%%", cr, canary.Errors, canary.Requests, cmpWord(ok), l.MaxErrorRate)
		v.Checks = append(v.Checks, Check{Name: "maxErrorRate", Value: cr, Limit: l.MaxErrorRate, OK: ok, Detail: d})
		if !ok {
			hard = append(hard, d)
		}
	}
	if l.MaxLatencyP99 > 0 && !canary.HasP99 {
		// LRS carries counts, not latencies: say the limit was not judged
		// rather than pass it silently.
		v.Checks = append(v.Checks, Check{Name: "maxLatencyP99", Limit: l.MaxLatencyP99.Seconds(), OK: true,
			Detail: fmt.Sprintf("canary p99 not judged: the provider reports no latency (limit %v; use the metricsService or prometheus provider)", l.MaxLatencyP99)})
	}
	if l.MaxLatencyP99 > 0 && canary.HasP99 {
		ok := canary.P99 <= l.MaxLatencyP99
		d := fmt.Sprintf("canary p99 %v %s limit %v", canary.P99.Round(time.Microsecond), cmpWord(ok), l.MaxLatencyP99)
		v.Checks = append(v.Checks, Check{Name: "maxLatencyP99", Value: canary.P99.Seconds(), Limit: l.MaxLatencyP99.Seconds(), OK: ok, Detail: d})
		if !ok {
			hard = append(hard, d)
		}
	}
	if l.Confidence > 0 && stable.Requests > 0 {
		v.Test, v.Z, v.PValue = CompareErrors(canary.Errors, canary.Requests, stable.Errors, stable.Requests)
		alpha := 1 - l.Confidence
		ok := v.PValue >= alpha
		d := fmt.Sprintf("canary %.2f%% vs stable %.2f%% errors: %s p=%.3g (fail below %.3g)", cr, stable.ErrorRate(), v.Test, v.PValue, alpha)
		v.Checks = append(v.Checks, Check{Name: "errorsVsStable", Value: v.PValue, Limit: alpha, OK: ok, Detail: d})
		if !ok {
			soft = append(soft, d)
		}
	}
	if l.MaxLatencyRatio > 0 && canary.HasP99 && stable.HasP99 && stable.P99 > 0 {
		v.LatencyRatio = float64(canary.P99) / float64(stable.P99)
		ok := v.LatencyRatio <= l.MaxLatencyRatio
		d := fmt.Sprintf("p99 canary %v / stable %v = %.2f %s limit %.2f", canary.P99.Round(time.Microsecond), stable.P99.Round(time.Microsecond), v.LatencyRatio, cmpWord(ok), l.MaxLatencyRatio)
		v.Checks = append(v.Checks, Check{Name: "latencyRatio", Value: v.LatencyRatio, Limit: l.MaxLatencyRatio, OK: ok, Detail: d})
		if !ok {
			soft = append(soft, d)
		}
	}
	for _, m := range metrics {
		switch {
		case m.Err != "":
			unknown = append(unknown, fmt.Sprintf("metric %s: %s", m.Name, m.Err))
		case m.Min != nil && m.Value < *m.Min:
			soft = append(soft, fmt.Sprintf("metric %s = %.4g below min %.4g", m.Name, m.Value, *m.Min))
		case m.Max != nil && m.Value > *m.Max:
			soft = append(soft, fmt.Sprintf("metric %s = %.4g above max %.4g", m.Name, m.Value, *m.Max))
		}
	}
	switch {
	case len(hard) > 0:
		v.Result, v.Hard = Fail, true
		v.Reason = strings.Join(append(hard, soft...), "; ")
	case len(soft) > 0:
		v.Result = Fail
		v.Reason = strings.Join(soft, "; ")
	case len(unknown) > 0:
		v.Result = Insufficient
		v.Reason = strings.Join(unknown, "; ")
	default:
		v.Result = Pass
		v.Reason = passReason(v)
	}
	return v
}

func passReason(v Verdict) string {
	var parts []string
	for _, c := range v.Checks {
		parts = append(parts, c.Detail)
	}
	return "passed: " + strings.Join(parts, "; ")
}

func cmpWord(ok bool) string {
	if ok {
		return "within"
	}
	return "over"
}

// CompareErrors tests whether the canary's error proportion (x1 of n1) is
// larger than the stable's (x2 of n2), one-sided. With every expected cell
// of the 2x2 table at least 5 it is the pooled two-proportion z-test;
// otherwise Fisher's exact test (hypergeometric tail), which stays correct
// for the small counts of a 1% step.
func CompareErrors(x1, n1, x2, n2 uint64) (test string, z, p float64) {
	N := float64(n1 + n2)
	K := float64(x1 + x2)
	if N == 0 {
		return "none", 0, 1
	}
	minExpected := math.Min(math.Min(float64(n1)*K/N, float64(n2)*K/N),
		math.Min(float64(n1)*(N-K)/N, float64(n2)*(N-K)/N))
	if minExpected < fisherBelow {
		return "fisher-exact", 0, FisherGreater(x1, n1, x2, n2)
	}
	z = TwoProportionZ(x1, n1, x2, n2)
	return "two-proportion-z", z, 0.5 * math.Erfc(z/math.Sqrt2)
}

// TwoProportionZ is the pooled z statistic of p1 - p2.
func TwoProportionZ(x1, n1, x2, n2 uint64) float64 {
	if n1 == 0 || n2 == 0 {
		return 0
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	p := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0
	}
	return (p1 - p2) / se
}

// FisherGreater is Fisher's exact one-sided p-value P(X >= x1) where X,
// the canary's errors, is hypergeometric given the table's margins: n1+n2
// requests of which x1+x2 failed, n1 of them sent to the canary.
func FisherGreater(x1, n1, x2, n2 uint64) float64 {
	N, K, n := int64(n1+n2), int64(x1+x2), int64(n1)
	hi := min(K, n)
	if int64(x1) > hi {
		return 0
	}
	base := lchoose(N, n)
	var p float64
	for k := int64(x1); k <= hi; k++ {
		if n-k > N-K {
			continue
		}
		p += math.Exp(lchoose(K, k) + lchoose(N-K, n-k) - base)
	}
	return math.Min(p, 1)
}

func lchoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
