package canary

import "math"

// The comparison with the stable is looked at on every interval check (and
// the window grows between looks), so a fixed-horizon test's error level
// does not hold: re-testing a healthy canary every 10 s with a p-value
// cut-off at 0.01 rolls it back far more often than 1% of the time. The
// test below is anytime-valid instead: its error level holds however often
// and whenever the engine looks.
//
// The construction is the conditional one of Lindon et al., "Rapid
// regression detection in software deployments through sequential testing"
// (KDD 2022, arXiv 2205.14762), for two counting streams: given that an
// error happened, it came from the canary with probability
//
//	theta = r*theta0 / (1 + (r-1)*theta0)
//
// where theta0 = n1/(n1+n2) is the canary's share of the requests and r is
// the ratio of the canary's error rate to the stable's. Healthy (r <= 1)
// means theta <= theta0. After x1 canary errors and x2 stable errors (K =
// x1+x2), the likelihood ratio of a ratio r against r = 1 is
//
//	LR_r = (theta/theta0)^x1 * ((1-theta)/(1-theta0))^x2 = r^x1 / (1 + (r-1)*theta0)^K
//
// and the test's e-value mixes it over the ratios of seqRatios, equally
// weighted:
//
//	E = (1/m) * sum over r of r^x1 / (1 + (r-1)*theta0)^K
//
// Each LR_r with r > 1 is a nonnegative martingale with mean 1 when the
// rates are equal, and a supermartingale when the canary is better (r < 1:
// every factor's mean is below 1), so E is too; Ville's inequality then
// bounds P(E ever reaches 1/alpha) by alpha. The check fails when E >=
// 1/alpha, i.e. when the anytime-valid p-value 1/E is at most alpha.
//
// The guarantee is exact when every request goes to the canary
// independently with the same probability during the window (a weighted
// split with a fixed weight, which is what a step is) and errors are rare
// enough to be a Poisson stream; the engine only has the window's
// cumulative counts, so theta0 is the share observed so far rather than
// the split's weight. The simulation in sim_test.go measures the rate of
// false rollbacks with both approximations in place (Bernoulli requests, a
// random split, a look after every report); docs/canary.md has the table.

// seqRatios are the canary/stable error-rate ratios the alternative mixes:
// below 1.5 a step's few hundred canary requests hold too few errors to
// tell, and past 10 the 10x term (or maxErrorRate) already fires within a
// few errors. Five equal weights cost log(5) = 1.6 of log-evidence against
// knowing the ratio: about 2.3 more canary errors at r = 2.
var seqRatios = [...]float64{1.5, 2, 3, 5, 10}

// maxLogE caps the e-value's logarithm so that it stays a finite float
// (JSON has no +Inf); e^690 is still far past any 1/alpha.
const maxLogE = 690

// ErrorsEValue is the sequential test's e-value of "the canary (x1 errors
// of n1 requests) fails more often than the stable (x2 of n2)", the
// mixture E above. Without requests on either side or without errors there
// is no evidence: 1. It does not allocate.
func ErrorsEValue(x1, n1, x2, n2 uint64) float64 {
	if n1 == 0 || n2 == 0 || x1+x2 == 0 {
		return 1
	}
	theta0 := float64(n1) / float64(n1+n2)
	a, k := float64(x1), float64(x1+x2)
	var logs [len(seqRatios)]float64
	top := math.Inf(-1)
	for i, r := range seqRatios {
		logs[i] = a*math.Log(r) - k*math.Log1p((r-1)*theta0)
		top = max(top, logs[i])
	}
	var sum float64
	for _, l := range logs {
		sum += math.Exp(l - top)
	}
	return math.Exp(min(maxLogE, top+math.Log(sum/float64(len(seqRatios)))))
}

// errorsWorse says whether the sequential test rejects "the canary is no
// worse than the stable" at error level alpha; with the p-value it reports.
func errorsWorse(x1, n1, x2, n2 uint64, alpha float64) (e, p float64, worse bool) {
	e = ErrorsEValue(x1, n1, x2, n2)
	p = min(1, 1/e)
	return e, p, p <= alpha
}
