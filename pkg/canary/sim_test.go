package canary

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The simulation: releases of one step each, judged against the stable on
// the cumulative counts since the step began, as the engine does. Every
// number here is the docs' table (docs/canary.md, "How often the judge is
// wrong"); change one and re-run the command there.
const (
	simReleases   = 10000 // per scenario
	simReports    = 300   // reports per step: 5 minutes of 1 s LRS reports
	simRPS        = 1000  // requests per report, both sides together
	simMinWeight  = 0.01  // the canary's weight, uniform per release in [1%, 5%]
	simMaxWeight  = 0.05
	simStableRate = 0.01 // stable error rate
	simMinReqs    = 100  // minRequests: no look before the canary has these
	simAlpha      = 0.01 // 1 - confidence 0.99
	simSeed       = 20260529
)

// simPolicy is how often a judge looks and how many consecutive failed
// looks roll back (failureLimit).
type simPolicy struct {
	name         string
	sequential   bool
	every, limit int
}

var simPolicies = [...]simPolicy{
	{"fixed-horizon (old), every report, failureLimit 1", false, 1, 1},
	{"fixed-horizon (old), every 10 reports, failureLimit 2", false, 10, 2},
	{"sequential (new), every report, failureLimit 1", true, 1, 1},
	{"sequential (new), every 10 reports, failureLimit 2", true, 10, 2},
}

// simScenario's canary fails ratio times as often as the stable.
type simScenario struct {
	name  string
	ratio float64
}

var simScenarios = []simScenario{{"healthy (1x)", 1}, {"2x", 2}, {"5x", 5}}

// simOutcome is, per policy, the report at which each release rolled back
// (0: never within simReports).
type simOutcome [][]int

// simulate runs one scenario: simReleases releases, each with its own
// seeded stream so that the result does not depend on the scheduling of
// the workers.
func simulate(sc simScenario) simOutcome {
	out := make(simOutcome, len(simPolicies))
	for i := range out {
		out[i] = make([]int, simReleases)
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for rel := w; rel < simReleases; rel += workers {
				simRelease(sc, rel, out)
			}
		})
	}
	wg.Wait()
	return out
}

func simRelease(sc simScenario, rel int, out simOutcome) {
	rng := rand.New(rand.NewPCG(simSeed, uint64(rel)<<8|uint64(sc.ratio*10)))
	weight := simMinWeight + (simMaxWeight-simMinWeight)*rng.Float64()
	var fails [len(simPolicies)]int
	var x1, n1, x2, n2 uint64
	pending := len(simPolicies)
	for report := 1; report <= simReports && pending > 0; report++ {
		c := binomial(rng, simRPS, weight)
		n1, n2 = n1+c, n2+simRPS-c
		x1 += binomial(rng, c, sc.ratio*simStableRate)
		x2 += binomial(rng, simRPS-c, simStableRate)
		if n1 < simMinReqs {
			continue
		}
		var fixedDone, seqDone bool
		var fixedWorse, seqWorse bool
		for i, p := range simPolicies {
			if out[i][rel] != 0 || report%p.every != 0 {
				continue
			}
			var worse bool
			switch {
			case p.sequential && seqDone:
				worse = seqWorse
			case p.sequential:
				_, _, seqWorse = errorsWorse(x1, n1, x2, n2, simAlpha)
				seqDone, worse = true, seqWorse
			case fixedDone:
				worse = fixedWorse
			default:
				_, _, pv := compareErrorsFixed(x1, n1, x2, n2)
				fixedWorse = pv < simAlpha
				fixedDone, worse = true, fixedWorse
			}
			if !worse {
				fails[i] = 0
				continue
			}
			if fails[i]++; fails[i] >= p.limit {
				out[i][rel] = report
				pending--
			}
		}
	}
}

// binomial draws Binomial(n, p) by inversion: the counts here have means
// of at most a few tens, so walking the CDF from 0 is cheap and exact.
func binomial(rng *rand.Rand, n uint64, p float64) uint64 {
	if n == 0 || p <= 0 {
		return 0
	}
	q := 1 - p
	pk := math.Pow(q, float64(n))
	cdf, u := pk, rng.Float64()
	var k uint64
	for u > cdf && k < n {
		pk *= float64(n-k) / float64(k+1) * p / q
		k++
		cdf += pk
	}
	return k
}

// simStats are a policy's numbers in one scenario: the share of releases
// rolled back within the step, and the median and p90 of the report of
// rollback (0 when that quantile was not rolled back within the step).
type simStats struct {
	rolledBack    float64
	median, p90th int
}

func statsOf(at []int) simStats {
	s := slices.Clone(at)
	for i, v := range s {
		if v == 0 {
			s[i] = math.MaxInt // never: after every rollback
		}
	}
	slices.Sort(s)
	q := func(f float64) int {
		v := s[int(f*float64(len(s)-1))]
		if v == math.MaxInt {
			return 0
		}
		return v
	}
	var n int
	for _, v := range at {
		if v != 0 {
			n++
		}
	}
	return simStats{float64(n) / float64(len(at)), q(0.5), q(0.9)}
}

func reportsCell(v int) string {
	if v == 0 {
		return fmt.Sprintf(">%d", simReports)
	}
	return fmt.Sprint(v)
}

// simTable runs every scenario and renders the docs' table.
func simTable() (string, [][]simStats) {
	stats := make([][]simStats, len(simScenarios)) // [scenario][policy]
	for i, sc := range simScenarios {
		out := simulate(sc)
		for _, at := range out {
			stats[i] = append(stats[i], statsOf(at))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| judge | false rollbacks (healthy) | 2x: rolled back, median / p90 reports | 5x: rolled back, median / p90 reports |\n")
	fmt.Fprintf(&b, "|---|---|---|---|\n")
	for p, pol := range simPolicies {
		h, d2, d5 := stats[0][p], stats[1][p], stats[2][p]
		fmt.Fprintf(&b, "| %s | %.2f%% | %.1f%%, %s / %s | %.1f%%, %s / %s |\n", pol.name, 100*h.rolledBack,
			100*d2.rolledBack, reportsCell(d2.median), reportsCell(d2.p90th),
			100*d5.rolledBack, reportsCell(d5.median), reportsCell(d5.p90th))
	}
	return b.String(), stats
}

// TestJudgeSimulation prints the table (go test -v) and holds the
// sequential judge to its stated level: at most alpha of healthy releases
// rolled back however often it looks.
func TestJudgeSimulation(t *testing.T) {
	table, stats := simTable()
	t.Logf("%d releases per scenario, %d reports of %d requests, canary weight %g-%g, stable errors %g, minRequests %d, alpha %g:\n%s",
		simReleases, simReports, simRPS, simMinWeight, simMaxWeight, simStableRate, simMinReqs, simAlpha, table)
	for p, pol := range simPolicies {
		if pol.sequential && stats[0][p].rolledBack > simAlpha {
			t.Errorf("%s: %.2f%% of healthy releases rolled back, above alpha %g", pol.name, 100*stats[0][p].rolledBack, simAlpha)
		}
		if pol.sequential && stats[2][p].rolledBack < 0.9 {
			t.Errorf("%s: only %.1f%% of 5x releases rolled back within the step", pol.name, 100*stats[2][p].rolledBack)
		}
	}
}

// BenchmarkJudgeSimulation is the same simulation as a benchmark; its
// metrics are the table's first column and the 5x median, per policy
// index.
func BenchmarkJudgeSimulation(b *testing.B) {
	for b.Loop() {
		_, stats := simTable()
		for p := range simPolicies {
			b.ReportMetric(100*stats[0][p].rolledBack, fmt.Sprintf("false%%/p%d", p))
			b.ReportMetric(float64(stats[2][p].median), fmt.Sprintf("reports5x/p%d", p))
		}
	}
}
