package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and balancers
)

type clientOptions struct {
	bootstrap   bootstrapOptions
	target      string
	rate        float64
	concurrency int
	count       int
	duration    time.Duration
	interval    time.Duration
	timeout     time.Duration
	jsonOut     bool
	headers     []string
}

func newClientCmd() *cobra.Command {
	o := clientOptions{}
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Call xds:///<name> through serin and print which versions answer",
		Long: `client is a proxyless gRPC client: it learns routes, weights and endpoints
from serin over xDS (no Envoy in between) and prints the live split.

The xDS bootstrap comes from GRPC_XDS_BOOTSTRAP_CONFIG or GRPC_XDS_BOOTSTRAP;
when neither is set, one is made from --xds-server and --node-cluster.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ensureBootstrap(o.bootstrap); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runClient(ctx, o, cmd.OutOrStdout())
		},
	}
	o.bootstrap.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "xds:///myapp", "gRPC target")
	f.Float64Var(&o.rate, "rate", 200, "calls per second (0: as fast as --concurrency allows)")
	f.IntVar(&o.concurrency, "concurrency", 4, "calls in flight at most")
	f.IntVar(&o.count, "count", 0, "stop after this many calls (0: run until stopped)")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until stopped)")
	f.DurationVar(&o.interval, "interval", time.Second, "print the split this often")
	f.DurationVar(&o.timeout, "timeout", 2*time.Second, "deadline of each call")
	f.BoolVar(&o.jsonOut, "json", false, "print one JSON object per interval and a final one")
	f.StringArrayVar(&o.headers, "header", nil, "send this request header (name=value) with every call; repeat for more (e.g. a cohort's x-beta=true)")
	return cmd
}

// tally counts answers by version and failures by gRPC code.
type tally struct {
	mu       sync.Mutex
	versions map[string]int
	errors   map[string]int
	total    int
}

func newTally() *tally { return &tally{versions: map[string]int{}, errors: map[string]int{}} }

func (t *tally) add(version string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	if err != nil {
		t.errors[status.Code(err).String()]++
		return
	}
	t.versions[version]++
}

// take returns the counts so far and starts a new window.
func (t *tally) take() (versions, errors map[string]int, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	versions, errors, total = t.versions, t.errors, t.total
	t.versions, t.errors, t.total = map[string]int{}, map[string]int{}, 0
	return
}

// Report is what the client prints with --json.
type Report struct {
	Time     time.Time      `json:"time"`
	Final    bool           `json:"final,omitempty"`
	Window   map[string]int `json:"window"`
	Errors   map[string]int `json:"errors,omitempty"`
	Calls    int            `json:"calls"`
	Totals   map[string]int `json:"totals"`
	AllCalls int            `json:"allCalls"`
}

func runClient(ctx context.Context, o clientOptions, out io.Writer) error {
	conn, err := grpc.NewClient(o.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", o.target, err)
	}
	defer conn.Close()
	stub := testpb.NewTestServiceClient(conn)
	md, err := headerMetadata(o.headers)
	if err != nil {
		return err
	}
	if md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}

	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	window := newTally()
	totals := map[string]int{}
	allCalls := 0
	print := func(final bool) {
		v, e, n := window.take()
		allCalls += n
		for k, c := range v {
			totals[k] += c
		}
		for k, c := range e {
			totals["error:"+k] += c
		}
		if o.jsonOut {
			b, _ := json.Marshal(Report{Time: time.Now(), Final: final, Window: v, Errors: e, Calls: n, Totals: totals, AllCalls: allCalls})
			fmt.Fprintln(out, string(b))
			return
		}
		fmt.Fprintln(out, formatSplit(v, e, n, o.interval))
	}

	work := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < max(1, o.concurrency); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				cctx, cancel := context.WithTimeout(ctx, o.timeout)
				resp, err := stub.UnaryCall(cctx, &testpb.SimpleRequest{FillServerId: true})
				cancel()
				if ctx.Err() != nil && err != nil {
					return // stopping: don't count calls we cancelled
				}
				window.add(resp.GetServerId(), err)
			}
		}()
	}

	var tick <-chan time.Time
	if o.rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer t.Stop()
		tick = t.C
	}
	report := time.NewTicker(o.interval)
	defer report.Stop()
	issued := 0
loop:
	for o.count == 0 || issued < o.count {
		if tick != nil {
			select {
			case <-tick:
			case <-report.C:
				print(false)
				continue
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case work <- struct{}{}:
			issued++
		case <-report.C:
			print(false)
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	print(true)
	return nil
}

// headerMetadata turns name=value flags into gRPC metadata (request
// headers, which xDS route matchers read).
func headerMetadata(headers []string) (metadata.MD, error) {
	if len(headers) == 0 {
		return nil, nil
	}
	md := metadata.MD{}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--header %q: want name=value", h)
		}
		md.Append(strings.ToLower(name), value)
	}
	return md, nil
}

// formatSplit renders one line: each version's share with a bar.
func formatSplit(v, e map[string]int, n int, interval time.Duration) string {
	if n == 0 {
		return time.Now().Format("15:04:05") + "  no calls completed (is serin serving the target?)"
	}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(time.Now().Format("15:04:05"))
	for _, k := range names {
		pct := 100 * float64(v[k]) / float64(n)
		fmt.Fprintf(&b, "  %s %5.1f%% %-20s", k, pct, strings.Repeat("█", int(pct/5+0.5)))
	}
	errs := 0
	for _, c := range e {
		errs += c
	}
	fmt.Fprintf(&b, "  errors %d  (%.0f calls/s)", errs, float64(n)/interval.Seconds())
	return b.String()
}
