package translator_test

import (
	"math/rand/v2"
	"regexp"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// pickCluster is Envoy's choice among weighted clusters when
// use_hash_policy is set (source/common/router/weighted_cluster_specifier.cc,
// pickClusterIndex): the request's hash modulo the total weight, found in
// the intervals [0, w1), [w1, w1+w2), ... in the order listed.
func pickCluster(cs []*routev3.WeightedCluster_ClusterWeight, hash uint64) string {
	var total uint64
	for _, c := range cs {
		total += uint64(c.Weight.GetValue())
	}
	selected := hash % total
	var begin uint64
	for _, c := range cs {
		end := begin + uint64(c.Weight.GetValue())
		if selected >= begin && selected < end {
			return c.Name
		}
		begin = end
	}
	panic("no cluster")
}

// stickyStep translates the pay world at canary weight w with a sticky
// header, as the engine would publish it, and returns the route's action.
func stickyStep(t *testing.T, w uint32) *routev3.RouteAction {
	t.Helper()
	lw := newLAWorld()
	in := lw.input(1)
	in.Overrides = map[ident.Key]translator.GroupOverride{ident.NewKey("default", "pay"): {
		Canary:   ident.NewKey("default", "pay"),
		Upstream: ident.NewKey("default", "pay-v2"),
		Weights: map[ident.Key]uint32{
			ident.NewKey("default", "pay-v1"): 100 - w, ident.NewKey("default", "pay-v2"): w},
		Stickiness: &v1alpha1.CanaryStickiness{Header: "x-user-id"},
	}}
	out := translator.Translate(in, translator.Options{})
	for _, r := range out.Reports {
		if r.State != v1alpha1.StateAccepted {
			t.Fatalf("weight %d: %+v", w, r)
		}
	}
	ra := payAction(t, out).GetRoute()
	if !ra.GetWeightedClusters().GetUseHashPolicy().GetValue() {
		t.Fatalf("weight %d: use_hash_policy not set: %v", w, ra)
	}
	if hp := ra.GetHashPolicy(); len(hp) != 1 || hp[0].GetHeader().GetHeaderName() != "x-user-id" {
		t.Fatalf("weight %d: hash policies %v", w, hp)
	}
	return ra
}

// TestStickyCanaryMonotonic replays many users' hashes through Envoy's
// choice at every step of a release: a user in the canary stays in it as
// its weight grows, the canary gets its share, and the total weight does
// not move. What would break it is a total that moves: with the same
// canary-first order but the stable's weight kept at 100 (a total of
// 100 + w), users flap between versions from one step to the next.
//
// (Listing the stable first would also keep a two-way split monotonic: the
// canary's range is then the suffix [100-w, 100). Canary first makes it
// [0, w) however the other destinations are ordered or split, which is
// why the translator lists it first.)
func TestStickyCanaryMonotonic(t *testing.T) {
	steps := []uint32{1, 5, 20, 50, 100}
	var clusters, movingTotal, stableFirst [][]*routev3.WeightedCluster_ClusterWeight
	for _, w := range steps {
		cs := stickyStep(t, w).GetWeightedClusters().GetClusters()
		if len(cs) != 2 || cs[0].Name != "pay-v2_default" {
			t.Fatalf("weight %d: clusters %v, want the canary first", w, cs)
		}
		if total := cs[0].Weight.GetValue() + cs[1].Weight.GetValue(); total != 100 {
			t.Fatalf("weight %d: total weight %d, want 100 at every step", w, total)
		}
		clusters = append(clusters, cs)
		stableFirst = append(stableFirst, []*routev3.WeightedCluster_ClusterWeight{cs[1], cs[0]})
		moving := []*routev3.WeightedCluster_ClusterWeight{cs[0], {Name: cs[1].Name, Weight: wrapperspb.UInt32(100)}}
		movingTotal = append(movingTotal, moving)
	}

	const users = 100000
	replay := func(order [][]*routev3.WeightedCluster_ClusterWeight) (left int, share []float64) {
		rng := rand.New(rand.NewPCG(1, 2))
		share = make([]float64, len(steps))
		for range users {
			h := rng.Uint64()
			in := false
			for i, cs := range order {
				now := pickCluster(cs, h) == "pay-v2_default"
				if in && !now {
					left++
				}
				in = in || now
				if now {
					share[i]++
				}
			}
		}
		for i := range share {
			share[i] /= users
		}
		return left, share
	}
	left, share := replay(clusters)
	if left != 0 {
		t.Errorf("%d users left the canary as its weight grew", left)
	}
	for i, w := range steps {
		if d := share[i] - float64(w)/100; d > 0.01 || d < -0.01 {
			t.Errorf("weight %d: %.3f of users in the canary", w, share[i])
		}
	}
	if left, _ := replay(movingTotal); left < users/10 {
		t.Errorf("a moving total: only %d users left the canary; the replay cannot tell", left)
	} else {
		t.Logf("a moving total (stable kept at 100): %d of %d users would leave the canary at some step", left, users)
	}
	if left, _ := replay(stableFirst); left != 0 {
		t.Errorf("stable first, two-way split: %d users left the canary", left)
	}
}

// TestCohortCookieRegex: the cohort's cookie matches as a whole cookie
// among others, its special characters literal (Envoy's safe_regex matches
// the whole header value, as an anchored Go regexp does).
func TestCohortCookieRegex(t *testing.T) {
	lw := newLAWorld()
	in := lw.input(1)
	in.Overrides = map[ident.Key]translator.GroupOverride{ident.NewKey("default", "pay"): {
		Canary: ident.NewKey("default", "pay"), Upstream: ident.NewKey("default", "pay-v2"),
		Weights: map[ident.Key]uint32{ident.NewKey("default", "pay-v1"): 100},
		Cohort:  &v1alpha1.CanaryABTest{Cookie: &v1alpha1.CookieMatcher{Name: "grp.x", Value: "b+1"}},
	}}
	out := translator.Translate(in, translator.Options{})
	r := payAction(t, out)
	if r.Name != "cohort" || r.GetRoute().GetCluster() != "pay-v2_default" {
		t.Fatalf("first route %v, want the cohort's to the canary", r)
	}
	var re *regexp.Regexp
	for _, h := range r.Match.Headers {
		if h.Name == "cookie" {
			re = regexp.MustCompile("^(?:" + h.GetStringMatch().GetSafeRegex().Regex + ")$")
		}
	}
	if re == nil {
		t.Fatalf("no cookie matcher in %v", r.Match)
	}
	for cookie, want := range map[string]bool{
		"grp.x=b+1":                true,
		"a=1; grp.x=b+1":           true,
		"grp.x=b+1; a=1":           true,
		"a=1;grp.x=b+1;b=2":        true,
		"a=1; grp.x=b+1; b=2":      true,
		"grp.x=b+11":               false,
		"grp.x=bb1":                false, // '+' is literal
		"grpxx=b+1":                false, // '.' is literal
		"xgrp.x=b+1":               false,
		"a=grp.x=b+1":              false,
		"grp.x=b+2; other=grp.x=b": false,
		"":                         false,
	} {
		if got := re.MatchString(cookie); got != want {
			t.Errorf("cookie %q: matched %v, want %v", cookie, got, want)
		}
	}
}
