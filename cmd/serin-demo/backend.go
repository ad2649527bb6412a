package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

type backendOptions struct {
	addr        string
	version     string
	errorRate   float64
	latency     time.Duration
	jitter      time.Duration
	metricsAddr string
}

func newBackendCmd() *cobra.Command {
	o := backendOptions{}
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Serve grpc.testing.TestService, answering with this version's name",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBackend(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:9001", "gRPC listen address")
	f.StringVar(&o.version, "version", "v1", "version name returned as server_id")
	f.Float64Var(&o.errorRate, "error-rate", 0, "fraction of calls (0..1) that fail with INTERNAL, to play a bad release")
	f.DurationVar(&o.latency, "latency", 0, "added latency per call")
	f.DurationVar(&o.jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9101)")
	return cmd
}

// testService answers UnaryCall with its version; EmptyCall too, so that
// any TestService client works.
type testService struct {
	testpb.UnimplementedTestServiceServer
	o        backendOptions
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func (s *testService) wait(ctx context.Context) error {
	d := s.o.latency
	if s.o.jitter > 0 {
		d += time.Duration(rand.Int64N(int64(s.o.jitter)))
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *testService) serve(ctx context.Context) (err error) {
	start := time.Now()
	defer func() {
		code := status.Code(err)
		s.requests.WithLabelValues(s.o.version, code.String()).Inc()
		s.latency.WithLabelValues(s.o.version).Observe(time.Since(start).Seconds())
	}()
	if err := s.wait(ctx); err != nil {
		return status.FromContextError(err).Err()
	}
	if s.o.errorRate > 0 && rand.Float64() < s.o.errorRate {
		return status.Errorf(codes.Internal, "%s: injected failure", s.o.version)
	}
	return nil
}

func (s *testService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := s.serve(ctx); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &testpb.SimpleResponse{ServerId: s.o.version, Hostname: host}, nil
}

func (s *testService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if err := s.serve(ctx); err != nil {
		return nil, err
	}
	return &testpb.Empty{}, nil
}

func runBackend(ctx context.Context, o backendOptions) error {
	if o.errorRate < 0 || o.errorRate > 1 {
		return fmt.Errorf("--error-rate %v: must be between 0 and 1", o.errorRate)
	}
	reg := prometheus.NewRegistry()
	svc := &testService{
		o: o,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_demo_requests_total", Help: "Calls served, by version and gRPC code.",
		}, []string{"version", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "serin_demo_request_duration_seconds", Help: "Call latency by version.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"version"}),
	}
	reg.MustRegister(svc.requests, svc.latency)

	lis, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.addr, err)
	}
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, svc)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	var metricsSrv *http.Server
	if o.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		metricsSrv = &http.Server{Addr: o.metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		mlis, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", o.metricsAddr, err)
		}
		go func() { _ = metricsSrv.Serve(mlis) }()
	}
	slog.Info("backend serving", "version", o.version, "addr", lis.Addr().String(), "errorRate", o.errorRate, "latency", o.latency)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case <-ctx.Done():
		srv.GracefulStop()
		if metricsSrv != nil {
			_ = metricsSrv.Close()
		}
		return nil
	case err := <-errc:
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return err
	}
}
