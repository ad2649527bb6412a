// Package e2e runs serin as a real process against real clients: grpc-go's
// xDS client (through the serin-demo client), raw ADS streams, and gRPC
// backends. Nothing here is mocked.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries built once for the whole package.
var (
	serinBin string
	demoBin  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "serin-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serinBin = filepath.Join(dir, "serin")
	demoBin = filepath.Join(dir, "serin-demo")
	for bin, pkg := range map[string]string{serinBin: "../cmd/serin", demoBin: "../cmd/serin-demo"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a child process whose output goes to the test log on failure.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs a command until the test ends.
func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout = p
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, tail(p.output(), 4000))
		}
	})
	return p
}

// stop sends SIGTERM and waits, then kills after 5s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// serin is a running `serin serve`.
type serin struct {
	*proc
	dir   string
	xds   string
	admin string
	args  []string
}

// startSerin serves dir and waits until /readyz answers 200.
func startSerin(t testing.TB, dir string, extra ...string) *serin {
	t.Helper()
	s := &serin{
		dir:   dir,
		xds:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		admin: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	s.args = append([]string{serinBin, "serve", "--config-dir", dir, "--xds-addr", s.xds, "--admin-addr", s.admin}, extra...)
	s.restart(t)
	return s
}

// restart starts the process again with the same addresses.
func (s *serin) restart(t testing.TB) {
	t.Helper()
	s.proc = start(t, "serin", s.args...)
	waitFor(t, 20*time.Second, "serin ready", func() bool {
		resp, err := http.Get("http://" + s.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// getJSON fetches an admin endpoint into v.
func (s *serin) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + s.admin + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// resource is one entry of /api/v1/resources.
type resource struct {
	Kind, Namespace, Name, State, Reason, Origin string
}

func (s *serin) resources(t testing.TB) map[string]resource {
	var list []resource
	s.getJSON(t, "/api/v1/resources", &list)
	out := map[string]resource{}
	for _, r := range list {
		out[r.Kind+" "+r.Namespace+"/"+r.Name] = r
	}
	return out
}

// startBackend runs a demo gRPC backend and returns its port.
func startBackend(t testing.TB, version string, extra ...string) int {
	t.Helper()
	port := freePort(t)
	args := append([]string{demoBin, "backend", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--version", version}, extra...)
	start(t, "backend "+version, args...)
	waitFor(t, 10*time.Second, "backend "+version, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return port
}

// clientReport is one JSON line of `serin-demo client --json`.
type clientReport struct {
	Time     time.Time      `json:"time"`
	Final    bool           `json:"final"`
	Window   map[string]int `json:"window"`
	Errors   map[string]int `json:"errors"`
	Calls    int            `json:"calls"`
	Totals   map[string]int `json:"totals"`
	AllCalls int            `json:"allCalls"`
}

func clientArgs(s *serin, fleet, target string, extra ...string) []string {
	return append([]string{demoBin, "client", "--xds-server", s.xds, "--node-cluster", fleet,
		"--target", target, "--json"}, extra...)
}

// runClient makes count calls through serin and returns the final report;
// extra are more client flags.
func runClient(t testing.TB, s *serin, fleet, target string, count int, extra ...string) clientReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := clientArgs(s, fleet, target, append([]string{"--count", fmt.Sprint(count), "--rate", "0", "--concurrency", "8", "--interval", "1h"}, extra...)...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var r clientReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	return r
}

// liveClient is a client that keeps calling and reports every interval.
type liveClient struct {
	reports chan clientReport
}

func startLiveClient(t testing.TB, s *serin, fleet, target string, rate int) *liveClient {
	t.Helper()
	return startLiveProc(t, clientArgs(s, fleet, target, "--rate", fmt.Sprint(rate), "--concurrency", "8", "--interval", "250ms"))
}

// startLiveProc runs a client with these arguments (clientArgs) and reads
// its reports.
func startLiveProc(t testing.TB, args []string) *liveClient {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lc := &liveClient{reports: make(chan clientReport, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r clientReport
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				select {
				case lc.reports <- r:
				default: // the test isn't reading; drop the oldest view
				}
			}
		}
		close(lc.reports)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	return lc
}

// collect sums window counts of the reports that arrive within d.
func (lc *liveClient) collect(t testing.TB, d time.Duration) (map[string]int, int) {
	t.Helper()
	sum := map[string]int{}
	n := 0
	deadline := time.After(d)
	for {
		select {
		case r, ok := <-lc.reports:
			if !ok {
				t.Fatal("client exited")
			}
			for k, v := range r.Window {
				sum[k] += v
			}
			for k, v := range r.Errors {
				sum["error:"+k] += v
			}
			n += r.Calls
		case <-deadline:
			return sum, n
		}
	}
}

// drain discards reports already queued.
func (lc *liveClient) drain() {
	for {
		select {
		case <-lc.reports:
		default:
			return
		}
	}
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
