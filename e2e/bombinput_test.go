package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// aliasBomb is the 8.5 KB file of the "trust" issue: 5 levels of x10 YAML
// aliases over an 8 KB leaf, 800 MB once expanded. It used to kill serin
// with "fatal error: out of memory".
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: serin.dev/v1alpha1\nkind: UpstreamGroup\nmetadata: {name: bomb}\n")
	b.WriteString("l0: &l0 " + strings.Repeat("x", 8<<10) + "\n")
	for i := 1; i <= 5; i++ {
		ref := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.Repeat(ref+",", 9)+ref)
	}
	return b.String()
}

// rssMB reads a process's resident memory from /proc.
func rssMB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb >> 10
		}
	}
	return -1
}

// TestAliasBombWhileRouting drops the alias bomb into the served directory,
// as a new file and over the file of the UpstreamGroup, while a grpc-go
// client routes 90/10: serin stays up without growing, both files are
// listed Rejected with the limit, the group keeps its last good weights and
// the client keeps routing.
func TestAliasBombWhileRouting(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 400)
	waitFor(t, 20*time.Second, "live client traffic", func() bool {
		_, n := live.collect(t, 300*time.Millisecond)
		return n > 0
	})
	rssBefore := rssMB(s.cmd.Process.Pid)

	bomb := filepath.Join(dir, "bomb.yaml")
	group := groupFile(t, dir)
	for _, p := range []string{bomb, group} {
		if err := os.WriteFile(p, []byte(aliasBomb()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	const reason = "document 1 expands to more than 16 MiB after YAML aliases (limit --max-yaml-expansion-bytes)"
	waitFor(t, 10*time.Second, "both files reported Rejected", func() bool {
		got := s.resources(t)
		for _, p := range []string{bomb, group} {
			r, ok := got["File /"+p]
			if !ok || r.State != "Rejected" || !strings.Contains(r.Reason, p+":1: "+reason) {
				return false
			}
		}
		return true
	})

	select {
	case <-s.done:
		t.Fatalf("serin exited after the bomb")
	default:
	}
	resp, err := http.Get("http://" + s.admin + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("serin not ready after the bomb: %v %v", err, resp)
	}
	resp.Body.Close()
	rssAfter := rssMB(s.cmd.Process.Pid)
	t.Logf("serin RSS %d MB before the bomb, %d MB after", rssBefore, rssAfter)
	if rssAfter > rssBefore+64 {
		t.Errorf("serin grew from %d to %d MB decoding an 8.5 KB file", rssBefore, rssAfter)
	}
	if r := s.resources(t)["UpstreamGroup default/myapp-upstream-group"]; r.State != "Accepted" {
		t.Errorf("the group's last good version: %+v, want Accepted", r)
	}

	// Still routing, still 90/10.
	live.drain()
	w, n := live.collect(t, 2*time.Second)
	if n < 100 || countErrors(w) != 0 {
		t.Fatalf("client after the bomb: %d calls, %v", n, w)
	}
	assertBinomial(t, "v2 at 90/10 after the bomb", w["v2"], n, 0.10)
}
