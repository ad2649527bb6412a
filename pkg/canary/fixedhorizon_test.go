package canary

import (
	"math"
	"math/big"
	"testing"
)

// The judge's comparison with the stable before the sequential test
// (sequential.go): a fixed-horizon test, kept here, test-only, so that the
// simulation (sim_test.go) can show both side by side. It is valid for one
// look at a window of a size fixed in advance, not for a look every
// interval at a growing window.

// fisherBelow is the smallest expected cell count for which the z-test's
// normal approximation is trusted (the usual rule of thumb: 5); below it
// the error comparison uses Fisher's exact test.
const fisherBelow = 5

// compareErrorsFixed tests whether the canary's error proportion (x1 of n1) is
// larger than the stable's (x2 of n2), one-sided. With every expected cell
// of the 2x2 table at least 5 it is the pooled two-proportion z-test;
// otherwise Fisher's exact test (hypergeometric tail), which stays correct
// for the small counts of a 1% step.
func compareErrorsFixed(x1, n1, x2, n2 uint64) (test string, z, p float64) {
	N := float64(n1 + n2)
	K := float64(x1 + x2)
	if N == 0 {
		return "none", 0, 1
	}
	minExpected := math.Min(math.Min(float64(n1)*K/N, float64(n2)*K/N),
		math.Min(float64(n1)*(N-K)/N, float64(n2)*(N-K)/N))
	if minExpected < fisherBelow {
		return "fisher-exact", 0, fisherGreater(x1, n1, x2, n2)
	}
	z = twoProportionZ(x1, n1, x2, n2)
	return "two-proportion-z", z, 0.5 * math.Erfc(z/math.Sqrt2)
}

// twoProportionZ is the pooled z statistic of p1 - p2.
func twoProportionZ(x1, n1, x2, n2 uint64) float64 {
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

// fisherGreater is Fisher's exact one-sided p-value P(X >= x1) where X,
// the canary's errors, is hypergeometric given the table's margins: n1+n2
// requests of which x1+x2 failed, n1 of them sent to the canary.
func fisherGreater(x1, n1, x2, n2 uint64) float64 {
	N, K, n := int64(n1+n2), int64(x1+x2), int64(n1)
	hi := min(K, n)
	k := max(int64(x1), n-(N-K)) // below n-(N-K) the probability is 0
	if k > hi {
		return 0
	}
	base := lchoose(N, n)
	t := math.Exp(lchoose(K, k) + lchoose(N-K, n-k) - base)
	if t == 0 {
		return fisherGreaterSlow(k, hi, N, K, n, base)
	}
	// Successive terms by their ratio, not by three Lgammas each: the
	// simulation calls this millions of times.
	var p float64
	for ; k <= hi; k++ {
		p += t
		if t < p*1e-17 {
			break // past the mode, the rest cannot move the sum
		}
		t *= float64((K-k)*(n-k)) / float64((k+1)*(N-K-n+k+1))
	}
	return math.Min(p, 1)
}

// fisherGreaterSlow sums the tail term by term, for a first term too small
// for a float64.
func fisherGreaterSlow(k, hi, N, K, n int64, base float64) float64 {
	var p float64
	for ; k <= hi; k++ {
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
		got := fisherGreater(c.x1, c.n1, c.x2, c.n2)
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
					got := fisherGreater(uint64(x1), uint64(n1), uint64(x2), uint64(n2))
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
		test, z, p := compareErrorsFixed(c.x1, c.n1, c.x2, c.n2)
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
	if test, _, p := compareErrorsFixed(2, 50, 0, 1000); test != "fisher-exact" || math.Abs(p-0.0022243406418811567) > 1e-12 {
		t.Errorf("small counts: %s p=%v, want fisher-exact 0.00222", test, p)
	}
}
