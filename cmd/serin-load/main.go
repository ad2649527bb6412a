// Command serin-load measures serin under load: it generates N services,
// starts `serin serve` on them, opens many Envoy-like ADS streams (SotW or
// delta) over a few gRPC connections, rewrites group files at a set rate
// and reports, per (client, change), the time from the change to the ACK
// of a route version containing it, plus the connect-storm time, bytes and
// responses per client and change, NACK cost, and serin's memory per idle
// client. With --baseline it runs the same clients and changes against a
// bare go-control-plane server and prints serin's p99 as a ratio.
//
//	go run ./cmd/serin-load --serin-bin bin/serin --clients 1000 --vs 1000 --changes 20
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/serin-dev/serin/pkg/loadtest"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serin-load:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serin-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      loadtest.Config
		serinArg stringList
		duration time.Duration
		baseline bool
		noSerin  bool
		jsonOut  string
	)
	fs.IntVar(&cfg.Clients, "clients", 100, "ADS streams (simulated Envoys)")
	fs.IntVar(&cfg.VirtualServices, "vs", 1000, "generated services: a VirtualService, an UpstreamGroup and two Upstreams each")
	fs.IntVar(&cfg.StreamsPerConn, "streams-per-conn", 100, "ADS streams per gRPC connection (serin allows 100)")
	fs.BoolVar(&cfg.Delta, "delta", false, "incremental (delta) xDS instead of state-of-the-world")
	fs.Float64Var(&cfg.NackFraction, "nack-fraction", 0, "share of clients that NACK every route update after their first")
	fs.IntVar(&cfg.Changes, "changes", 10, "weight changes to make (one group file rewritten per change)")
	fs.Float64Var(&cfg.ChangesPerSec, "changes-per-sec", 1, "rate of changes")
	fs.DurationVar(&duration, "duration", 0, "make changes for this long (overrides --changes: rate x duration)")
	fs.DurationVar(&cfg.Settle, "settle", 30*time.Second, "after the last change, how long to wait for every client to converge")
	fs.DurationVar(&cfg.Idle, "idle", 2*time.Second, "how long connected clients sit idle before serin's RSS is read")
	fs.StringVar(&cfg.SerinBin, "serin-bin", "", "serin binary (default: serin beside this binary, then bin/serin, then PATH)")
	fs.Var(&serinArg, "serin-arg", "extra flag for serin serve (repeatable), e.g. --serin-arg=--debounce-quiet=5ms")
	fs.BoolVar(&baseline, "baseline", false, "also run a bare go-control-plane v0.14 SnapshotCache server with the same clients and changes")
	fs.BoolVar(&noSerin, "no-serin", false, "skip serin (with --baseline: the baseline alone)")
	fs.StringVar(&cfg.Dir, "dir", "", "generate the configuration here (default: a temporary directory)")
	fs.StringVar(&jsonOut, "json-out", "", "also append the JSON result lines to this file")
	fs.StringVar(&cfg.ProfileDir, "profile-dir", "", "save serin's heap (idle clients) and CPU (change phase) profiles here, and serin-load's own CPU profile")
	fs.BoolVar(&cfg.TLS, "tls", false, "run serin with mTLS on xDS (a throwaway CA, a client certificate per connection, one fleet rule)")
	compareTLS := fs.Bool("compare-tls", false, "run serin twice, plaintext then mTLS, with the same clients and changes, and print both")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if duration > 0 {
		cfg.Changes = int(duration.Seconds() * cfg.ChangesPerSec)
	}
	cfg.SerinArgs = serinArg
	if !*quiet {
		cfg.Log = stderr
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(cfg.ProfileDir, "serin-load-cpu.pb.gz"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var results []*loadtest.Result
	var errs []error
	if !noSerin {
		bin, err := findSerin(cfg.SerinBin)
		if err != nil {
			return err
		}
		cfg.SerinBin = bin
		runs := []bool{cfg.TLS}
		if *compareTLS {
			runs = []bool{false, true}
		}
		for _, tls := range runs {
			c := cfg
			c.TLS = tls
			r, err := loadtest.RunSerin(ctx, c)
			if r != nil {
				results = append(results, r)
			}
			errs = append(errs, err)
		}
	}
	if baseline {
		r, err := loadtest.RunBaseline(ctx, cfg)
		if r != nil {
			results = append(results, r)
		}
		errs = append(errs, err)
	}
	var jf io.Writer = io.Discard
	if jsonOut != "" {
		f, err := os.OpenFile(jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		jf = f
	}
	for _, r := range results {
		printHuman(stdout, r)
		b, _ := json.Marshal(r)
		fmt.Fprintf(stdout, "%s\n", b)
		fmt.Fprintf(jf, "%s\n", b)
	}
	if n := len(results); n >= 2 && results[n-1].Server == "go-control-plane" && results[n-1].Latency.P99 > 0 {
		ratio := results[0].Latency.P99 / results[n-1].Latency.P99
		fmt.Fprintf(stdout, "serin p99 / go-control-plane p99 = %.2f\n", ratio)
		b, _ := json.Marshal(map[string]any{"p99_ratio_serin_over_baseline": ratio})
		fmt.Fprintf(stdout, "%s\n", b)
		fmt.Fprintf(jf, "%s\n", b)
	}
	if *compareTLS && len(results) >= 2 && results[0].Latency.P99 > 0 {
		ratio := results[1].Latency.P99 / results[0].Latency.P99
		fmt.Fprintf(stdout, "serin p99 with mTLS / plaintext = %.2f\n", ratio)
	}
	return errors.Join(errs...)
}

func printHuman(w io.Writer, r *loadtest.Result) {
	transport := "plaintext"
	if r.TLS {
		transport = "mTLS"
	}
	fmt.Fprintf(w, "%s %s (%s): %d clients over %d conns, %d services, %d changes at %g/s\n",
		r.Server, r.Mode, transport, r.Clients, r.Conns, r.VirtualServices, r.Changes, r.ChangesPerSec)
	fmt.Fprintf(w, "  connect storm: all complete in %.0f ms\n", r.ConnectMs)
	l := r.Latency
	fmt.Fprintf(w, "  change -> ACK (%d pairs, %d missing): min %.1f  median %.1f  p99 %.1f  max %.1f ms\n",
		l.N, r.Missing, l.Min, l.Median, l.P99, l.Max)
	fmt.Fprintf(w, "  p99 first half of the changes %.1f ms, second half %.1f ms\n", r.P99FirstHalf, r.P99SecondHalf)
	fmt.Fprintf(w, "  per client and change: %.0f bytes, %.2f responses; %d route versions seen\n",
		r.BytesPerClientChange, r.ResponsesPerClientChange, r.RouteVersions)
	if r.NackingClients > 0 {
		fmt.Fprintf(w, "  NACKing clients: %d, route responses per change each: %.2f\n", r.NackingClients, r.NackResponsesPerChange)
	}
	if r.RSSAfter > 0 {
		fmt.Fprintf(w, "  serin RSS %.1f MiB -> %.1f MiB idle with clients: %.1f KB per client\n",
			float64(r.RSSBefore)/(1<<20), float64(r.RSSAfter)/(1<<20), float64(r.RSSPerClient)/1024)
		fmt.Fprintf(w, "  serin live heap after GC %.1f MiB -> %.1f MiB: %.1f KB per client\n",
			float64(r.HeapBefore)/(1<<20), float64(r.HeapAfter)/(1<<20), float64(r.HeapPerClient)/1024)
		fmt.Fprintf(w, "  serin goroutines %d before clients, %d after they left\n", r.GoroutinesBefore, r.GoroutinesAfter)
	}
}

// findSerin resolves the serin binary.
func findSerin(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "serin")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if st, err := os.Stat("bin/serin"); err == nil && !st.IsDir() {
		return "bin/serin", nil
	}
	if p, err := exec.LookPath("serin"); err == nil {
		return p, nil
	}
	return "", errors.New("no serin binary: build it (make build) or pass --serin-bin")
}
