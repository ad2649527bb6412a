package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
)

// rolloutDir copies examples/canary-rollout with the backends' ports and
// canaryYAML in place of its canary.yaml.
func rolloutDir(t testing.TB, v1Port, v2Port int, canaryYAML string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../examples/canary-rollout/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples/canary-rollout has no YAML: %v", err)
	}
	r := strings.NewReplacer("9001", fmt.Sprint(v1Port), "9002", fmt.Sprint(v2Port))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := r.Replace(string(b))
		if filepath.Base(f) == "canary.yaml" {
			body = canaryYAML
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// canaryYAML is myapp's Canary with the given steps and analysis lines.
func canaryYAML(steps, analysis string) string {
	return rolloutCanary("  steps: " + steps + "\n  analysis:\n" + analysis)
}

// heldRollout serves myapp's release with these steps, on healthy v1 and
// v2 backends, judged so that no step ever passes on its own (the test
// moves it), and waits until the first step is live.
func heldRollout(t testing.TB, steps string, extra ...string) *serin {
	t.Helper()
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := rolloutDir(t, v1, v2, canaryYAML(steps, `    interval: 1s
    minRequests: 1000000
    maxStepDuration: 1h
`))
	s := startSerin(t, dir, extra...)
	s.waitPhase(t, 10*time.Second, v1alpha1.PhaseProgressing)
	return s
}

// crash kills serin with no graceful shutdown and waits until it is gone.
func (s *serin) crash() {
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.done
}

// rolloutCanary is myapp's Canary with the rest of its spec given.
func rolloutCanary(spec string) string {
	return `apiVersion: serin.dev/v1alpha1
kind: Canary
metadata: {name: myapp}
spec:
  upstreamGroup: {name: myapp-upstream-group}
  stable: {name: myapp-v1}
  canary: {name: myapp-v2}
` + spec
}

func (s *serin) canary(t testing.TB) canary.View {
	t.Helper()
	var v canary.View
	s.getJSON(t, "/api/v1/canaries/default/myapp", &v)
	return v
}

func (s *serin) waitPhase(t testing.TB, d time.Duration, phases ...v1alpha1.CanaryPhase) canary.View {
	t.Helper()
	var v canary.View
	waitFor(t, d, fmt.Sprintf("canary phase in %v", phases), func() bool {
		v = s.canary(t)
		for _, p := range phases {
			if v.Phase == p {
				return true
			}
		}
		return false
	})
	return v
}

func (s *serin) post(t testing.TB, path string) {
	t.Helper()
	resp, err := http.Post("http://"+s.admin+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// nodeRoutes is the part of /api/v1/nodes the ACK watcher reads.
type nodeRoutes struct {
	ID        string    `json:"id"`
	Connected time.Time `json:"connected"`
	Types     []struct {
		Type         string `json:"type"`
		AckedVersion string `json:"ackedVersion"`
	} `json:"types"`
}

// ackWatcher polls /api/v1/nodes and remembers, per node, when its ACKed
// route version changed and to what. Resolution: the poll period. (Route
// versions are content hashes: the 100/0 of a rollback has the version
// the node ACKed before the first step.)
type ackWatcher struct {
	mu    sync.Mutex
	first map[string][]ackChange // node -> changes, oldest first
	stop  chan struct{}
	done  chan struct{}
}

func watchAcks(t testing.TB, s *serin, every time.Duration) *ackWatcher {
	w := &ackWatcher{first: map[string][]ackChange{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(every):
			}
			var nodes []nodeRoutes
			resp, err := http.Get("http://" + s.admin + "/api/v1/nodes")
			if err != nil {
				continue
			}
			now := time.Now()
			err = decodeJSON(resp, &nodes)
			if err != nil {
				continue
			}
			w.mu.Lock()
			for _, n := range nodes {
				for _, ty := range n.Types {
					if ty.Type != "route" || ty.AckedVersion == "" {
						continue
					}
					key := n.ID + "@" + n.Connected.String()
					ch := w.first[key]
					if len(ch) == 0 || ch[len(ch)-1].version != ty.AckedVersion {
						w.first[key] = append(ch, ackChange{ty.AckedVersion, now})
					}
				}
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *ackWatcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

type ackChange struct {
	version string
	at      time.Time
}

// ackedAt returns, for every node whose latest ACKed version is v, when
// it switched to it.
func (w *ackWatcher) ackedAt(v string) map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]time.Time{}
	for n, ch := range w.first {
		if len(ch) > 0 && ch[len(ch)-1].version == v {
			out[n] = ch[len(ch)-1].at
		}
	}
	return out
}

func routeVersions(t testing.TB, s *serin) map[string]string {
	var nodes []nodeRoutes
	s.getJSON(t, "/api/v1/nodes", &nodes)
	out := map[string]string{}
	for _, n := range nodes {
		for _, ty := range n.Types {
			if ty.Type == "route" {
				out[n.ID+"@"+n.Connected.String()] = ty.AckedVersion
			}
		}
	}
	return out
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
