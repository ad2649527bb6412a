package loadtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/translator"
	"google.golang.org/grpc/credentials"
)

// Config is one load run.
type Config struct {
	VirtualServices int
	Clients         int
	StreamsPerConn  int
	Delta           bool
	NackFraction    float64
	// Changes weight changes are made, ChangesPerSec apart.
	Changes       int
	ChangesPerSec float64
	// Settle bounds the wait, after the last change, for every client to
	// converge.
	Settle time.Duration
	// Idle is how long the connected clients sit idle before serin's RSS
	// is read again.
	Idle time.Duration
	// SerinBin is the serin binary; SerinArgs are extra serve flags.
	SerinBin  string
	SerinArgs []string
	// Dir is where the configuration is generated (a temporary directory,
	// removed afterwards, when empty).
	Dir string
	// ProfileDir, when set, receives serin's heap profile with idle
	// clients (serin-heap.pb.gz) and its CPU profile over the change phase
	// (serin-cpu.pb.gz), from its --debug-addr /debug/pprof.
	ProfileDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// TLS runs serin with mTLS on xDS (a throwaway CA; every client
	// presents a certificate and one fleet rule admits them), as a
	// production deployment does.
	TLS bool
}

// Result is what a run measured. Times are in milliseconds.
type Result struct {
	Server          string  `json:"server"` // "serin" or "go-control-plane"
	Mode            string  `json:"mode"`   // "sotw" or "delta"
	TLS             bool    `json:"tls,omitempty"`
	Date            string  `json:"date"`
	VirtualServices int     `json:"virtual_services"`
	Clients         int     `json:"clients"`
	Conns           int     `json:"conns"`
	Changes         int     `json:"changes"`
	ChangesPerSec   float64 `json:"changes_per_sec"`
	NackingClients  int     `json:"nacking_clients"`
	// ConnectMs: all clients started at once until the last one had a
	// complete configuration.
	ConnectMs float64 `json:"connect_storm_ms"`
	// Latency: change made -> ACK of a route version containing it, over
	// every (ACKing client, change) pair.
	Latency Summary `json:"change_to_ack"`
	// P99 of the first and the second half of the changes: a growing
	// backlog shows as a second half much worse than the first.
	P99FirstHalf  float64 `json:"p99_first_half_ms"`
	P99SecondHalf float64 `json:"p99_second_half_ms"`
	// Missing pairs never converged within Settle.
	Missing int `json:"missing"`
	// Per client and change during the change phase.
	BytesPerClientChange     float64 `json:"bytes_per_client_change"`
	ResponsesPerClientChange float64 `json:"responses_per_client_change"`
	// NackResponsesPerChange: route responses a NACKing client got per
	// change (1 = a NACK costs one response).
	NackResponsesPerChange float64 `json:"nack_responses_per_change,omitempty"`
	RouteVersions          int     `json:"route_versions"`
	// Server memory (serin only): VmRSS before clients, after they sat
	// idle, and the difference per client.
	RSSBefore    int64 `json:"rss_before_bytes,omitempty"`
	RSSAfter     int64 `json:"rss_after_bytes,omitempty"`
	RSSPerClient int64 `json:"rss_per_client_bytes,omitempty"`
	// Server live heap (go_memstats_heap_inuse_bytes right after a GC)
	// before clients, with idle clients, and the difference per client.
	HeapBefore    int64 `json:"heap_before_bytes,omitempty"`
	HeapAfter     int64 `json:"heap_after_bytes,omitempty"`
	HeapPerClient int64 `json:"heap_per_client_bytes,omitempty"`
	// Server goroutines before the clients and after they all left.
	GoroutinesBefore int `json:"goroutines_before,omitempty"`
	GoroutinesAfter  int `json:"goroutines_after,omitempty"`
}

func (c *Config) defaults() {
	if c.VirtualServices <= 0 {
		c.VirtualServices = 1000
	}
	if c.Clients <= 0 {
		c.Clients = 100
	}
	if c.StreamsPerConn <= 0 {
		c.StreamsPerConn = 100
	}
	if c.ChangesPerSec <= 0 {
		c.ChangesPerSec = 1
	}
	if c.Settle <= 0 {
		c.Settle = 30 * time.Second
	}
	if c.Idle <= 0 {
		c.Idle = 2 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

func (c Config) result(server string) *Result {
	mode := "sotw"
	if c.Delta {
		mode = "delta"
	}
	return &Result{
		Server: server, Mode: mode, Date: time.Now().Format("2006-01-02"),
		VirtualServices: c.VirtualServices, Clients: c.Clients,
		Conns:   (c.Clients + c.StreamsPerConn - 1) / c.StreamsPerConn,
		Changes: c.Changes, ChangesPerSec: c.ChangesPerSec, TLS: c.TLS,
	}
}

// RunSerin generates the configuration, starts serin on it, and measures.
func RunSerin(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "serin-load-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	d, err := WriteDir(dir, gen.Config{VirtualServices: cfg.VirtualServices})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "serin: %d virtual services in %s\n", cfg.VirtualServices, dir)
	args := cfg.SerinArgs
	var creds credentials.TransportCredentials
	if cfg.TLS {
		certDir, err := os.MkdirTemp("", "serin-load-tls-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(certDir)
		m, err := newMTLS(certDir)
		if err != nil {
			return nil, err
		}
		args, creds = append(slices.Clone(args), m.serveArgs...), m.creds
	}
	s, err := StartSerin(ctx, cfg.SerinBin, dir, args...)
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	res := cfg.result("serin")
	time.Sleep(time.Second) // let the first translation's garbage go
	res.HeapBefore = s.LiveHeap()
	if res.RSSBefore, err = RSS(s.Pid()); err != nil {
		return nil, err
	}
	if g, err := s.Metric("go_goroutines"); err == nil {
		res.GoroutinesBefore = int(g)
	}
	after := func(f *Fleet) error {
		res.HeapAfter = s.LiveHeap()
		res.HeapPerClient = (res.HeapAfter - res.HeapBefore) / int64(cfg.Clients)
		if res.RSSAfter, err = RSS(s.Pid()); err != nil {
			return err
		}
		res.RSSPerClient = (res.RSSAfter - res.RSSBefore) / int64(cfg.Clients)
		return nil
	}
	hooks := hooks{idle: after}
	if cfg.ProfileDir != "" {
		hooks.idle = func(f *Fleet) error {
			if err := after(f); err != nil {
				return err
			}
			return s.Profile("heap", filepath.Join(cfg.ProfileDir, "serin-heap.pb.gz"))
		}
		hooks.changing = func() func() {
			secs := int(float64(cfg.Changes)/cfg.ChangesPerSec) + 2
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := s.Profile(fmt.Sprintf("profile?seconds=%d", secs), filepath.Join(cfg.ProfileDir, "serin-cpu.pb.gz")); err != nil {
					fmt.Fprintf(cfg.Log, "cpu profile: %v\n", err)
				}
			}()
			return func() { <-done }
		}
	}
	hooks.creds = creds
	if err := run(ctx, cfg, s.XDS, d, res, hooks); err != nil {
		return res, fmt.Errorf("%w\nserin output:\n%s", err, s.Output())
	}
	// Every stream's goroutines end with it: the count returns to where it
	// was once the clients are gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := s.Metric("go_goroutines")
		if err != nil {
			return res, err
		}
		res.GoroutinesAfter = int(g)
		if res.GoroutinesAfter <= res.GoroutinesBefore || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return res, nil
}

// RunBaseline measures a bare go-control-plane server with the same
// configuration, clients and changes (in this process: no RSS).
func RunBaseline(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	b, err := StartBaseline(gen.Config{VirtualServices: cfg.VirtualServices}, translator.Options{LoadReporting: true})
	if err != nil {
		return nil, err
	}
	defer b.Stop()
	fmt.Fprintf(cfg.Log, "go-control-plane: %d virtual services on %s\n", cfg.VirtualServices, b.Addr)
	res := cfg.result("go-control-plane")
	return res, run(ctx, cfg, b.Addr, b, res, hooks{})
}

// hooks run at points of a run: idle, once the clients have sat idle;
// changing, as the changes start (what it returns is called after them).
type hooks struct {
	idle     func(*Fleet) error
	changing func() (after func())
	// creds are the clients' transport credentials (nil: plaintext).
	creds credentials.TransportCredentials
}

// run connects the fleet, makes the changes and fills res.
func run(ctx context.Context, cfg Config, addr string, target Target, res *Result, h hooks) error {
	tracked := max(1, min(cfg.VirtualServices, cfg.Changes))
	reg := NewRegistry(tracked)
	f, err := StartFleet(ctx, FleetConfig{
		Addr: addr, Clients: cfg.Clients, StreamsPerConn: cfg.StreamsPerConn,
		Delta: cfg.Delta, NackFraction: cfg.NackFraction, Creds: h.creds,
	}, reg)
	if err != nil {
		return err
	}
	defer f.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	storm, err := f.WaitComplete(wctx)
	cancel()
	if err != nil {
		return fmt.Errorf("connect storm: %w", err)
	}
	res.ConnectMs = float64(storm.Microseconds()) / 1000
	fmt.Fprintf(cfg.Log, "%s: %d clients complete in %v\n", res.Server, cfg.Clients, storm.Round(time.Millisecond))
	if h.idle != nil {
		time.Sleep(cfg.Idle)
		if err := h.idle(f); err != nil {
			return err
		}
	}

	before := f.Counters()
	if h.changing != nil {
		defer h.changing()()
	}
	changes, err := makeChanges(ctx, cfg, tracked, target)
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		last := changes[len(changes)-1]
		deadline := time.Now().Add(cfg.Settle)
		for !f.Converged(last) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// Responses still in flight to NACKing clients.
		time.Sleep(200 * time.Millisecond)
	}
	after := f.Counters()
	lat, missing := f.Latencies(changes)
	res.Latency, res.Missing = Summarize(lat), missing
	if h := len(changes) / 2; h > 0 {
		first, _ := f.Latencies(changes[:h])
		second, _ := f.Latencies(changes[h:])
		res.P99FirstHalf, res.P99SecondHalf = Summarize(first).P99, Summarize(second).P99
	}
	res.RouteVersions = reg.Versions()
	if n := len(changes) * cfg.Clients; n > 0 {
		res.BytesPerClientChange = float64(after.Bytes-before.Bytes) / float64(n)
		res.ResponsesPerClientChange = float64(after.Responses-before.Responses) / float64(n)
	}
	if nr, nc := f.NackerRouteResponses(); nc > 0 && len(changes) > 0 {
		res.NackingClients = nc
		res.NackResponsesPerChange = float64(nr) / float64(nc*len(changes))
	}
	fmt.Fprintf(cfg.Log, "%s: %d changes, change->ACK p99 %.1f ms, %d pairs missing\n", res.Server, len(changes), res.Latency.P99, missing)
	f.Close()
	if missing > 0 {
		return fmt.Errorf("%d (client, change) pairs did not converge within %v", missing, cfg.Settle)
	}
	return nil
}

// makeChanges makes cfg.Changes changes at cfg.ChangesPerSec.
func makeChanges(ctx context.Context, cfg Config, tracked int, target Target) ([]Change, error) {
	interval := time.Duration(float64(time.Second) / cfg.ChangesPerSec)
	start := time.Now().Add(interval)
	changes := make([]Change, 0, cfg.Changes)
	for k := range cfg.Changes {
		at := start.Add(time.Duration(k) * interval)
		select {
		case <-ctx.Done():
			return changes, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		ch := Change{Seq: k, Service: k % tracked, Weight: CanaryWeight(k), At: time.Now()}
		if err := target.Apply(ch); err != nil {
			return changes, err
		}
		changes = append(changes, ch)
	}
	return changes, nil
}
