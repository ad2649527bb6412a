package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Serin is a `serin serve` child process.
type Serin struct {
	// XDS, Admin and Debug (pprof) are its listen addresses.
	XDS, Admin, Debug string
	cmd               *exec.Cmd
	out               bytes.Buffer
	done              chan struct{}
}

// StartSerin runs bin serve on dir with free loopback ports plus extra
// flags, and waits until /readyz answers 200. Its output is kept for
// Output.
func StartSerin(ctx context.Context, bin, dir string, extra ...string) (*Serin, error) {
	xdsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debugAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &Serin{XDS: xdsAddr, Admin: adminAddr, Debug: debugAddr, done: make(chan struct{})}
	// pprof lives on its own loopback address, not the admin API's.
	args := append([]string{"serve", "--config-dir", dir, "--xds-addr", xdsAddr, "--admin-addr", adminAddr, "--debug-addr", debugAddr}, extra...)
	s.cmd = exec.Command(bin, args...)
	lw := &lockedWriter{w: &s.out}
	s.cmd.Stdout, s.cmd.Stderr = lw, lw
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(2 * time.Minute) // 10,000 services take seconds to load
	for {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("serin exited: %s", s.Output())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("serin not ready after 2m: %s", s.Output())
		}
	}
}

// Pid is the process id.
func (s *Serin) Pid() int { return s.cmd.Process.Pid }

// Output is what the process printed (the last 8 KB).
func (s *Serin) Output() string {
	w := s.cmd.Stdout.(*lockedWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	b := s.out.Bytes()
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// Stop sends SIGTERM and waits (SIGKILL after 10 s).
func (s *Serin) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// RSS returns the resident set size of process pid in bytes, from
// /proc/<pid>/status (VmRSS).
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Metric returns the value of an unlabelled metric (e.g. go_goroutines,
// go_memstats_heap_inuse_bytes) from serin's /metrics.
func (s *Serin) Metric(name string) (float64, error) {
	resp, err := http.Get("http://" + s.Admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LiveHeap forces a GC in serin (pprof's heap profile with gc=1) and
// returns go_memstats_heap_inuse_bytes; 0 when either is unavailable.
func (s *Serin) LiveHeap() int64 {
	// Twice: sync.Pool (gRPC's buffer pool) keeps its items through one
	// GC in a victim cache; the second frees them.
	for range 2 {
		resp, err := http.Get("http://" + s.Debug + "/debug/pprof/heap?gc=1")
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	v, err := s.Metric("go_memstats_heap_inuse_bytes")
	if err != nil {
		return 0
	}
	return int64(v)
}

// Profile saves serin's /debug/pprof/<what> to path.
func (s *Serin) Profile(what, path string) error {
	resp, err := http.Get("http://" + s.Debug + "/debug/pprof/" + what)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s: %s", what, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
