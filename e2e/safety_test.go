package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// The release-safety scenarios: ordinary mistakes that used to take live
// traffic away, each tried against a running serin with real grpc-go xDS
// clients as the data plane.

// steadySplit drains the client, then collects for d and checks: calls
// were made, none failed, and v2's share is p.
func steadySplit(t *testing.T, live *liveClient, what string, d time.Duration, p float64) {
	t.Helper()
	live.drain()
	w, n := live.collect(t, d)
	if n < 200 {
		t.Fatalf("%s: only %d calls in %v", what, n, d)
	}
	if errs := countErrors(w); errs != 0 {
		t.Fatalf("%s: %d of %d calls failed: %v", what, errs, n, w)
	}
	switch p {
	case 0, 1:
		if got := float64(w["v2"]) / float64(n); got != p {
			t.Fatalf("%s: v2 answered %d of %d calls, want a share of %v", what, w["v2"], n, p)
		}
	default:
		assertBinomial(t, what, w["v2"], n, p)
	}
}

// waitTraffic waits until the live client's calls succeed.
func waitTraffic(t *testing.T, live *liveClient) {
	t.Helper()
	waitFor(t, 20*time.Second, "live client traffic", func() bool {
		w, n := live.collect(t, 300*time.Millisecond)
		return n > 0 && countErrors(w) == 0
	})
}

// waitAllOn waits until a whole report window of the client's calls went
// to version (the routes that moved have reached it).
func waitAllOn(t *testing.T, live *liveClient, version string) {
	t.Helper()
	waitFor(t, 5*time.Second, "every call on "+version, func() bool {
		w, n := live.collect(t, 300*time.Millisecond)
		return n > 0 && w[version] == n
	})
}

// waitResource waits until the admin API reports the object in state with
// a reason containing reason, and returns it.
func (s *serin) waitResource(t *testing.T, key, state, reason string) resource {
	t.Helper()
	var r resource
	waitFor(t, 10*time.Second, fmt.Sprintf("%s %s (%q)", key, state, reason), func() bool {
		r = s.resources(t)[key]
		return r.State == state && strings.Contains(r.Reason, reason)
	})
	return r
}

func (s *serin) metricsText(t *testing.T) string {
	t.Helper()
	return getText(t, "http://"+s.admin+"/metrics")
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTypoKeepsTheLastAcceptedGroup: the live group is edited to a weight
// of -1, then to 0 + 0. Each version is Rejected, with a reason that says
// the last accepted version is still served, and clients keep 90/10 with
// no errors. The rejection is logged at WARN with the file and counted in
// /metrics. A good edit is served again at once.
func TestTypoKeepsTheLastAcceptedGroup(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	waitTraffic(t, live)
	steadySplit(t, live, "v2 at 90/10", 2*time.Second, 0.10)

	const key = "UpstreamGroup default/myapp-upstream-group"
	for _, typo := range []struct {
		v1, v2 int
		why    string
	}{{-1, 10, "must be >= 0"}, {0, 0, "must add up to more than 0"}} {
		writeGroup(t, dir, typo.v1, typo.v2)
		r := s.waitResource(t, key, "Rejected", typo.why)
		if !strings.Contains(r.Reason, "serving the version accepted at") {
			t.Fatalf("weights %d/%d: reason %q does not say the last accepted version is served", typo.v1, typo.v2, r.Reason)
		}
		t.Logf("weights %d/%d: %s", typo.v1, typo.v2, r.Reason)
		steadySplit(t, live, fmt.Sprintf("v2 after the typo %d/%d", typo.v1, typo.v2), 3*time.Second, 0.10)
	}
	if m := s.metricsText(t); !strings.Contains(m, `serin_objects{kind="UpstreamGroup",state="Rejected"} 1`) {
		t.Errorf("/metrics does not count the rejected group:\n%s", grepLines(m, "serin_objects"))
	}
	if out := s.proc.output(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, filepath.Base(groupFile(t, dir))+":") {
		t.Errorf("no WARN naming the group's file:line in the log:\n%s", tail(out, 20))
	}

	writeGroup(t, dir, 50, 50)
	s.waitResource(t, key, "Accepted", "")
	waitFor(t, 5*time.Second, "the fixed group served", func() bool {
		w, n := live.collect(t, 500*time.Millisecond)
		return n > 0 && float64(w["v2"])/float64(n) > 0.35
	})
	steadySplit(t, live, "v2 at 50/50", 2*time.Second, 0.50)
}

// TestOldestClaimWins: a new file with a VirtualService that claims the
// live domain, and a new file that redefines the live group, sort first
// by name; neither takes over. The hijacker is Rejected naming the
// holder, the duplicate is refused naming the first definition, and
// clients keep 90/10.
func TestOldestClaimWins(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	waitTraffic(t, live)

	writeFile(t, filepath.Join(dir, "aaa-hijack.yaml"), `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: aaa-hijack}
spec:
  virtualHost:
    domains: [myapp]
    routes:
    - matchers: [{prefix: /}]
      routeAction: {single: {upstream: {name: myapp-v2}}}
`)
	writeFile(t, filepath.Join(dir, "aaa-dup.yaml"), `apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata: {name: myapp-upstream-group}
spec:
  destinations:
  - {destination: {upstream: {name: myapp-v2}}, weight: 100}
`)
	r := s.waitResource(t, "VirtualService default/aaa-hijack", "Rejected", "default/myapp")
	t.Logf("hijacker: %s", r.Reason)
	dup := s.waitResource(t, "File /"+filepath.Join(dir, "aaa-dup.yaml"), "Rejected", "already defined")
	t.Logf("duplicate: %s", dup.Reason)
	if got := s.resources(t)["VirtualService default/myapp"]; got.State != "Accepted" {
		t.Fatalf("the holder is %s %q, want Accepted", got.State, got.Reason)
	}
	steadySplit(t, live, "v2 with a hijacker and a duplicate group", 3*time.Second, 0.10)
}

// TestTwoCanariesOnOneGroup: a second Canary on a group that a Canary
// already releases is Rejected naming the holder and waits; the split
// stays the first one's.
func TestTwoCanariesOnOneGroup(t *testing.T) {
	s := heldRollout(t, "[{weight: 20}, {weight: 100}]")
	dir := s.dir
	writeFile(t, filepath.Join(dir, "aaa-second.yaml"), `apiVersion: serin.dev/v1alpha1
kind: Canary
metadata: {name: aaa-second}
spec:
  upstreamGroup: {name: myapp-upstream-group}
  stable: {name: myapp-v1}
  canary: {name: myapp-v2}
  steps: [{weight: 90}]
`)
	r := s.waitResource(t, "Canary default/aaa-second", "Rejected", "default/myapp")
	t.Logf("second canary: %s", r.Reason)
	var second struct {
		Phase   v1alpha1.CanaryPhase `json:"phase"`
		Message string               `json:"message"`
	}
	waitFor(t, 10*time.Second, "the second canary's view", func() bool {
		resp, err := http.Get("http://" + s.admin + "/api/v1/canaries/default/aaa-second")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && decodeJSON(resp, &second) == nil
	})
	if second.Phase != v1alpha1.PhasePending || !strings.Contains(second.Message, "default/myapp") {
		t.Errorf("second canary: %s %q, want Pending with a message naming the holder", second.Phase, second.Message)
	}
	if v := s.canary(t); v.Phase != v1alpha1.PhaseProgressing || v.Weight != 20 {
		t.Fatalf("holder: %s at %d%%, want Progressing at 20%%", v.Phase, v.Weight)
	}
	rep := runClient(t, s, "default", "xds:///myapp", 3000)
	assertBinomial(t, "v2 under the holder's 20%", rep.Totals["v2"], 3000, 0.20)
}

// TestEmptiedFileKeepsItsObjects: an editor that truncates the group's
// file and writes it a moment later never takes the route away; a file
// that stays empty past the settle time is a deletion.
func TestEmptiedFileKeepsItsObjects(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	waitTraffic(t, live)
	path := groupFile(t, dir)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		live.drain()
		writeFile(t, path, "") // truncate, as an editor saving in place does
		time.Sleep(700 * time.Millisecond)
		writeFile(t, path, string(body))
		w, n := live.collect(t, 1500*time.Millisecond)
		if errs := countErrors(w); errs != 0 || n == 0 {
			t.Fatalf("truncate-then-write: %d of %d calls failed: %v", errs, n, w)
		}
	}
	steadySplit(t, live, "v2 after three in-place saves", 2*time.Second, 0.10)

	writeFile(t, path, "")
	waitFor(t, 15*time.Second, "the emptied file's group to go", func() bool {
		_, ok := s.resources(t)["UpstreamGroup default/myapp-upstream-group"]
		return !ok
	})
}

// lastManual returns the newest manual decision, or fails.
func lastManual(t *testing.T, s *serin) v1alpha1.CanaryDecision {
	t.Helper()
	v := s.canary(t)
	for i := len(v.Decisions) - 1; i >= 0; i-- {
		if v.Decisions[i].Manual {
			return v.Decisions[i].CanaryDecision
		}
	}
	t.Fatalf("no manual decision recorded: %s", decisionsText(v.Decisions))
	return v1alpha1.CanaryDecision{}
}

// TestPausedBadReleaseRollsBack: paused at its first step, a release that
// fails 10% of calls still rolls back: pause stops progression, never
// protection.
func TestPausedBadReleaseRollsBack(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2", "--error-rate", "0.10")
	dir := rolloutDir(t, v1, v2, canaryYAML("[{weight: 5}, {weight: 50}, {weight: 100}]", `    interval: 1s
    minRequests: 60
    maxStepDuration: 10m
    maxErrorRate: 1
`))
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	s.waitPhase(t, 10*time.Second, v1alpha1.PhaseProgressing)
	s.post(t, "/api/v1/canaries/default/myapp/pause")
	if v := s.canary(t); v.Phase != v1alpha1.PhasePaused {
		t.Fatalf("phase %s after pause (the release was judged before the pause took: make minRequests larger)", v.Phase)
	}
	v := s.waitPhase(t, 60*time.Second, v1alpha1.PhaseRolledBack, v1alpha1.PhaseSucceeded)
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack; decisions:\n%s", v.Phase, decisionsText(v.Decisions))
	}
	for _, d := range v.Decisions {
		if strings.Contains(strings.ToLower(d.Reason), "resumed") {
			t.Fatalf("the release was resumed: %s", decisionsText(v.Decisions))
		}
	}
	if d := lastManual(t, s); !strings.Contains(d.Reason, "paused") || d.Actor == "" {
		t.Errorf("the pause is not recorded as a manual decision with its actor: %+v", d)
	}
	d := v.Decisions[len(v.Decisions)-1]
	t.Logf("rolled back while paused: %s", d.Reason)
	waitAllOn(t, live, "v1")
	steadySplit(t, live, "v2 after the rollback", 2*time.Second, 0)
}

// TestPromoteFullBadReleaseRollsBackInBake: promote --full of a release
// that fails 10% of calls goes to 100% and bakes; the bake's checks roll
// it back before it is ever Succeeded.
func TestPromoteFullBadReleaseRollsBackInBake(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2", "--error-rate", "0.10")
	dir := rolloutDir(t, v1, v2, canaryYAML(walkSteps, `    interval: 1s
    minRequests: 100
    maxStepDuration: 10m
    maxErrorRate: 1
    bakeTime: 2m
`))
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	s.waitPhase(t, 10*time.Second, v1alpha1.PhaseProgressing)
	s.post(t, "/api/v1/canaries/default/myapp/promote?full=true")
	if v := s.canary(t); v.Phase != v1alpha1.PhaseBaking || v.Weight != 100 {
		t.Fatalf("after promote --full: %s at %d%%, want Baking at 100%%", v.Phase, v.Weight)
	}
	v := s.waitPhase(t, 60*time.Second, v1alpha1.PhaseRolledBack, v1alpha1.PhaseSucceeded)
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack in the bake; decisions:\n%s", v.Phase, decisionsText(v.Decisions))
	}
	if d := lastManual(t, s); !strings.Contains(d.Reason, "100%") {
		t.Errorf("promote --full is not recorded as manual: %+v", d)
	}
	t.Logf("rolled back in bake: %s", v.Decisions[len(v.Decisions)-1].Reason)
	waitAllOn(t, live, "v1")
	steadySplit(t, live, "v2 after the bake's rollback", 2*time.Second, 0)
}

// TestUndoRestoresStable: a release promoted to Succeeded is undone with
// the CLI; every call goes back to v1, and a restart keeps it so.
func TestUndoRestoresStable(t *testing.T) {
	s := heldRollout(t, walkSteps, "--state-dir", t.TempDir())
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	s.post(t, "/api/v1/canaries/default/myapp/promote?full=true")
	s.waitPhase(t, 10*time.Second, v1alpha1.PhaseSucceeded)
	waitAllOn(t, live, "v2")

	out, err := exec.Command(serinBin, "canary", "--admin-addr", s.admin, "undo", "myapp").CombinedOutput()
	if err != nil {
		t.Fatalf("serin canary undo: %v\n%s", err, out)
	}
	t.Logf("serin canary undo:\n%s", out)
	v := s.canary(t)
	if v.Phase != v1alpha1.PhaseRolledBack || v.Weight != 0 {
		t.Fatalf("after undo: %s at %d%%, want RolledBack at 0%%", v.Phase, v.Weight)
	}
	if d := lastManual(t, s); !strings.Contains(d.Reason, "undo") {
		t.Errorf("undo is not the last manual decision: %+v", d)
	}
	waitAllOn(t, live, "v1")
	steadySplit(t, live, "v2 after undo", 2*time.Second, 0)

	s.crash()
	s.restart(t)
	if v := s.canary(t); v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("after restart: %s, want the undo kept (RolledBack)", v.Phase)
	}
	rep := runClient(t, s, "default", "xds:///myapp", 1000)
	if rep.Totals["v1"] != 1000 {
		t.Fatalf("after restart: %+v, want every call on v1", rep.Totals)
	}
}

// TestCorruptStateFileKeepsServedWeights: serin is killed at 50%, its
// state file is corrupted, and it starts again: the canary is Error, and
// clients keep 50/50 rather than the group's spec (90/10).
func TestCorruptStateFileKeepsServedWeights(t *testing.T) {
	state := t.TempDir()
	s := heldRollout(t, walkSteps, "--state-dir", state)
	s.post(t, "/api/v1/canaries/default/myapp/promote") // 5%
	s.post(t, "/api/v1/canaries/default/myapp/promote") // 20%
	s.post(t, "/api/v1/canaries/default/myapp/promote") // 50%
	s.post(t, "/api/v1/canaries/default/myapp/pause")
	s.post(t, "/api/v1/canaries/default/myapp/resume")
	before := s.canary(t)
	if before.Weight != 50 {
		t.Fatalf("weight %d after three promotes, want 50", before.Weight)
	}
	time.Sleep(500 * time.Millisecond)
	s.crash()

	corrupted := corruptStateFiles(t, state, "myapp")
	t.Logf("corrupted %v", corrupted)
	s.restart(t)
	v := s.canary(t)
	if v.Phase != v1alpha1.PhaseError || v.Weight != 50 {
		t.Fatalf("after restart on a corrupt state file: %s at %d%% (%s), want Error at 50%%", v.Phase, v.Weight, v.Message)
	}
	t.Logf("message: %s", v.Message)
	rep := runClient(t, s, "default", "xds:///myapp", 3000)
	if countErrors(rep.Totals) != 0 {
		t.Fatalf("calls failed: %+v", rep.Totals)
	}
	assertBinomial(t, "v2 on a corrupt state file", rep.Totals["v2"], 3000, 0.50)
}

// corruptStateFiles overwrites the newest saved status of the canary
// (not its backup copy, which serin keeps for exactly this) with bytes
// that are not JSON.
func corruptStateFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	var hit []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := d.Name()
		if strings.Contains(base, name) && strings.HasSuffix(base, ".json") && !strings.Contains(base, ".prev") &&
			!strings.Contains(p, "release") {
			hit = append(hit, p)
			return os.WriteFile(p, []byte("{\"phase\": \"Progressing\", \"weight\": 5"), 0o600)
		}
		return nil
	})
	if err != nil || len(hit) == 0 {
		t.Fatalf("no state file for %s under %s: %v", name, dir, err)
	}
	return hit
}

// TestBlueGreen: the new version is mirrored, then takes every call at
// once, bakes, and succeeds; undo returns every call to v1.
func TestBlueGreen(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := rolloutDir(t, v1, v2, rolloutCanary(`  strategy: blueGreen
  mirror: {percentage: 100, duration: 3s}
  analysis:
    interval: 1s
    minRequests: 20
    maxErrorRate: 1
    bakeTime: 4s
`))
	// Proxyless gRPC clients do not mirror; the new version's checks come
	// from a preview address that reaches it directly (as a load tester or
	// QA would), whose calls the clients report like any other.
	writeFile(t, filepath.Join(dir, "preview.yaml"), `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: myapp-preview}
spec:
  virtualHost:
    domains: [myapp-preview]
    routes:
    - matchers: [{prefix: /}]
      routeAction: {single: {upstream: {name: myapp-v2}}}
`)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 300)
	startLiveClient(t, s, "default", "xds:///myapp-preview", 50)
	s.waitPhase(t, 10*time.Second, v1alpha1.PhaseMirroring)
	steadySplit(t, live, "v2 while mirroring", time.Second, 0)
	s.waitPhase(t, 20*time.Second, v1alpha1.PhaseBaking)
	waitAllOn(t, live, "v2")
	v := s.waitPhase(t, 30*time.Second, v1alpha1.PhaseSucceeded, v1alpha1.PhaseRolledBack)
	if v.Phase != v1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s; decisions:\n%s", v.Phase, decisionsText(v.Decisions))
	}
	steadySplit(t, live, "v2 after the switch", 2*time.Second, 1)
	s.post(t, "/api/v1/canaries/default/myapp/undo")
	waitAllOn(t, live, "v1")
}

// TestABTest: a cohort (x-beta: true) gets the new version while everyone
// else stays on v1; a healthy cohort promotes to everyone, a failing one
// rolls back and the cohort returns to v1.
func TestABTest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		errorRate string
		want      v1alpha1.CanaryPhase
	}{
		{"healthy", "0", v1alpha1.PhaseSucceeded},
		{"failing", "0.10", v1alpha1.PhaseRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1, v2 := startBackend(t, "v1"), startBackend(t, "v2", "--error-rate", tc.errorRate)
			dir := rolloutDir(t, v1, v2, rolloutCanary(`  strategy: abTest
  abTest:
    headers: [{name: x-beta, value: "true"}]
    duration: 3s
  analysis:
    interval: 1s
    minRequests: 50
    maxErrorRate: 1
`))
			s := startSerin(t, dir)
			everyone := startLiveClient(t, s, "default", "xds:///myapp", 300)
			args := clientArgs(s, "default", "xds:///myapp", "--rate", "100", "--concurrency", "4", "--interval", "250ms", "--header", "x-beta=true")
			cohort := startLiveProc(t, args)
			s.waitPhase(t, 10*time.Second, v1alpha1.PhaseProgressing)
			waitFor(t, 5*time.Second, "the cohort on v2", func() bool {
				w, n := cohort.collect(t, 300*time.Millisecond)
				return n > 0 && w["v2"]+countErrors(w) == n
			})
			if v := s.canary(t); v.Phase == v1alpha1.PhaseProgressing {
				steadySplit(t, everyone, "v2 outside the cohort", time.Second, 0)
			}
			v := s.waitPhase(t, 60*time.Second, v1alpha1.PhaseSucceeded, v1alpha1.PhaseRolledBack)
			if v.Phase != tc.want {
				t.Fatalf("phase %s, want %s; decisions:\n%s", v.Phase, tc.want, decisionsText(v.Decisions))
			}
			if tc.want == v1alpha1.PhaseSucceeded {
				waitAllOn(t, everyone, "v2")
				steadySplit(t, everyone, "v2 for everyone after promotion", 2*time.Second, 1)
				return
			}
			waitAllOn(t, cohort, "v1")
		})
	}
}
