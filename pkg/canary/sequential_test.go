package canary

import (
	"math"
	"testing"
)

func TestErrorsEValueKnownAnswers(t *testing.T) {
	// References evaluated independently with exact fractions (Python:
	// theta0 = n1/(n1+n2), E = mean over r in {1.5,2,3,5,10} of
	// r^x1 / (1+(r-1)*theta0)^(x1+x2)).
	cases := []struct {
		x1, n1, x2, n2 uint64
		want           float64
	}{
		{8, 1000, 10, 10000, 795.9707991198662},
		{30, 200, 20, 400, 546.1976838119929},
		// 2 of 50 canary calls failed, none of 1000 stable: Fisher's
		// one-look p was 0.0022; as evidence under continuous
		// monitoring it is p = 1/16 = 0.063, not enough at 0.99.
		{2, 50, 0, 1000, 15.98680586982423},
		{5, 10, 0, 10, 9.405125282393408},
		// Canary no worse: the evidence falls below 1.
		{0, 30, 3, 3000, 0.9126268995272041},
		{12, 1000, 100, 10000, 0.22740430801600076},
	}
	for _, c := range cases {
		if got := ErrorsEValue(c.x1, c.n1, c.x2, c.n2); math.Abs(got-c.want) > 1e-9*c.want {
			t.Errorf("E(%d/%d vs %d/%d) = %.15g, want %.15g", c.x1, c.n1, c.x2, c.n2, got, c.want)
		}
	}
	// No requests on a side, or no errors at all: no evidence.
	for _, c := range [][4]uint64{{0, 0, 0, 0}, {0, 100, 0, 100}, {3, 10, 0, 0}, {0, 0, 3, 10}} {
		if got := ErrorsEValue(c[0], c[1], c[2], c[3]); got != 1 {
			t.Errorf("E(%v) = %v, want 1", c, got)
		}
	}
	// Overwhelming evidence stays a finite number.
	if got := ErrorsEValue(1e6, 1e6, 0, 1e6); math.IsInf(got, 0) || math.IsNaN(got) || got < 1e290 {
		t.Errorf("E(all canary calls fail) = %v, want finite and huge", got)
	}
}

// TestErrorsEValueIsMartingale checks the property the error level rests
// on: with the canary's share theta0 fixed and equal rates, the next error
// is the canary's with probability theta0, and the expected e-value after
// it is the e-value before it.
func TestErrorsEValueIsMartingale(t *testing.T) {
	for _, n := range [][2]uint64{{10, 990}, {50, 950}, {1, 1}, {300, 700}} {
		theta0 := float64(n[0]) / float64(n[0]+n[1])
		for x1 := uint64(0); x1 < 30; x1 += 3 {
			for x2 := uint64(0); x2 < 200; x2 += 17 {
				e := ErrorsEValue(x1, n[0], x2, n[1])
				next := theta0*ErrorsEValue(x1+1, n[0], x2, n[1]) + (1-theta0)*ErrorsEValue(x1, n[0], x2+1, n[1])
				if math.Abs(next-e) > 1e-9*e {
					t.Fatalf("shares %v, %d/%d errors: E = %.12g, expected next %.12g", n, x1, x2, e, next)
				}
			}
		}
	}
}

func TestErrorsEValueDoesNotAllocate(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { ErrorsEValue(8, 1000, 10, 10000) }); a != 0 {
		t.Errorf("%v allocations per look", a)
	}
}
