package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// canaryDir copies examples/canary into a temp dir with the backends' ports
// in place of the example's 9001 (v1) and 9002 (v2).
func canaryDir(t testing.TB, v1Port, v2Port int) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../examples/canary/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples/canary has no YAML: %v", err)
	}
	r := strings.NewReplacer("9001", fmt.Sprint(v1Port), "9002", fmt.Sprint(v2Port))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(r.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeGroup replaces the example's UpstreamGroup with the given weights,
// the way a user's editor would: write a temp file, rename it over.
func writeGroup(t testing.TB, dir string, v1, v2 int) {
	t.Helper()
	body := fmt.Sprintf(`apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata:
  name: myapp-upstream-group
  namespace: default
spec:
  destinations:
  - destination: {upstream: {name: myapp-v1}}
    weight: %d
  - destination: {upstream: {name: myapp-v2}}
    weight: %d
`, v1, v2)
	path := groupFile(t, dir)
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// groupFile finds the file that defines the UpstreamGroup.
func groupFile(t testing.TB, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "kind: UpstreamGroup") {
			return f
		}
	}
	t.Fatalf("no UpstreamGroup in %s", dir)
	return ""
}

// assertBinomial checks that got of n is within 4.5 standard deviations of
// n*p: a false failure about once in 150,000 runs.
func assertBinomial(t testing.TB, what string, got, n int, p float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(got)-mean) > 4.5*sd {
		t.Fatalf("%s: %d of %d, want %.0f ± %.0f (p=%.2f)", what, got, n, mean, 4.5*sd, p)
	}
	t.Logf("%s: %d of %d (expected %.0f ± %.0f)", what, got, n, mean, 4.5*sd)
}

// TestProxylessSplitFollowsFile is the canary walkthrough with a real
// grpc-go xDS client: 90/10, then the group file is rewritten to 50/50 and
// the split follows without restarting anything.
func TestProxylessSplitFollowsFile(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)

	r := runClient(t, s, "default", "xds:///myapp", 4000)
	if r.AllCalls != 4000 || len(r.Errors)+countErrors(r.Totals) != 0 {
		t.Fatalf("want 4000 successful calls, got %+v", r)
	}
	assertBinomial(t, "v2 at 90/10", r.Totals["v2"], 4000, 0.10)

	live := startLiveClient(t, s, "default", "xds:///myapp", 400)
	waitFor(t, 20*time.Second, "live client traffic", func() bool {
		_, n := live.collect(t, 300*time.Millisecond)
		return n > 0
	})
	writeGroup(t, dir, 50, 50)
	changed := time.Now()
	var followed time.Duration
	waitFor(t, 10*time.Second, "split to follow 50/50", func() bool {
		w, n := live.collect(t, 250*time.Millisecond)
		if n >= 50 && float64(w["v2"])/float64(n) > 0.35 {
			followed = time.Since(changed)
			return true
		}
		return false
	})
	t.Logf("split followed the file within %v", followed.Round(10*time.Millisecond))
	if followed > 2*time.Second {
		t.Errorf("split took %v to follow the file, want well under 2s", followed)
	}
	r = runClient(t, s, "default", "xds:///myapp", 4000)
	assertBinomial(t, "v2 at 50/50", r.Totals["v2"], 4000, 0.50)
}

func countErrors(totals map[string]int) int {
	n := 0
	for k, v := range totals {
		if strings.HasPrefix(k, "error:") {
			n += v
		}
	}
	return n
}
