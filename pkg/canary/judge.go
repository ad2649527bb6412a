package canary

import (
	"fmt"
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
	// Test is "sequential-mixture" when the error rates were compared
	// (see ErrorsEValue); EValue is the evidence that the canary fails
	// more often than the stable and PValue = min(1, 1/EValue) its
	// anytime-valid p-value. Z is no longer computed and stays 0: it was
	// the z statistic of the fixed-horizon test the judge used before.
	Test   string  `json:"test,omitempty"`
	EValue float64 `json:"eValue,omitempty"`
	Z      float64 `json:"z,omitempty"`
	PValue float64 `json:"pValue,omitempty"`
	// LatencyRatio is canary p99 / stable p99 when both are known.
	LatencyRatio float64       `json:"latencyRatio,omitempty"`
	Checks       []Check       `json:"checks"`
	Metrics      []MetricValue `json:"metrics,omitempty"`
}

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
		alpha := 1 - l.Confidence
		var worse bool
		v.Test = "sequential-mixture"
		v.EValue, v.PValue, worse = errorsWorse(canary.Errors, canary.Requests, stable.Errors, stable.Requests, alpha)
		ok := !worse
		d := fmt.Sprintf("canary %.2f%% vs stable %.2f%% errors: %s e=%.3g p=%.3g (fail at p <= %.3g)", cr, stable.ErrorRate(), v.Test, v.EValue, v.PValue, alpha)
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
