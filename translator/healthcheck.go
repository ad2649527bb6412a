package translator

import (
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// Envoy requires every health check to say its timeout, interval and both
// thresholds; these are the values used when the Upstream leaves them out.
const (
	// defaultHCTimeout: a probe slower than this counts as a failure.
	defaultHCTimeout = 5 * time.Second
	// defaultHCInterval: probe every 10s, so a dead host is noticed within
	// about 30s (3 failures) without flooding small backends.
	defaultHCInterval = 10 * time.Second
	// defaultHCUnhealthy: three failures in a row, so one lost probe does
	// not eject a host.
	defaultHCUnhealthy = 3
	// defaultHCHealthy: two successes bring a host back.
	defaultHCHealthy = 2
)

func healthChecksIR(p *problems, hcs []v1alpha1.HealthCheck) []HealthCheck {
	if len(hcs) == 0 {
		return nil
	}
	out := make([]HealthCheck, 0, len(hcs))
	for i := range hcs {
		h := &hcs[i]
		fp := "spec.healthChecks[" + strconv.Itoa(i) + "]"
		hc := HealthCheck{
			Timeout:   h.Timeout.Get(defaultHCTimeout),
			Interval:  h.Interval.Get(defaultHCInterval),
			Unhealthy: defaultHCUnhealthy,
			Healthy:   defaultHCHealthy,
		}
		if hc.Timeout <= 0 || hc.Interval <= 0 {
			p.reject(fp, "timeout and interval must be greater than zero")
			continue
		}
		if h.UnhealthyThreshold != nil {
			hc.Unhealthy = *h.UnhealthyThreshold
		}
		if h.HealthyThreshold != nil {
			hc.Healthy = *h.HealthyThreshold
		}
		switch {
		case h.HttpHealthCheck != nil:
			hc.Kind = HealthCheckHTTP
			hc.Path, hc.Host = h.HttpHealthCheck.Path, h.HttpHealthCheck.Host
			if hc.Path == "" || !headerSafe(hc.Path) || !headerSafe(hc.Host) {
				p.reject(fp+".httpHealthCheck", "path and host must be valid in an HTTP request")
				continue
			}
		case h.TcpHealthCheck != nil:
			hc.Kind = HealthCheckTCP
		case h.GrpcHealthCheck != nil:
			hc.Kind = HealthCheckGRPC
			hc.ServiceName, hc.Authority = h.GrpcHealthCheck.ServiceName, h.GrpcHealthCheck.Authority
			if !headerSafe(hc.Authority) {
				p.reject(fp+".grpcHealthCheck.authority", "must be valid in an HTTP header")
				continue
			}
		default:
			p.reject(fp, "exactly one of httpHealthCheck, tcpHealthCheck or grpcHealthCheck is needed")
			continue
		}
		out = append(out, hc)
	}
	return out
}

func buildHealthChecks(hcs []HealthCheck) []*corev3.HealthCheck {
	if len(hcs) == 0 {
		return nil
	}
	out := make([]*corev3.HealthCheck, 0, len(hcs))
	for i := range hcs {
		h := &hcs[i]
		pb := &corev3.HealthCheck{
			Timeout:            durationpb.New(h.Timeout),
			Interval:           durationpb.New(h.Interval),
			UnhealthyThreshold: wrapperspb.UInt32(h.Unhealthy),
			HealthyThreshold:   wrapperspb.UInt32(h.Healthy),
		}
		switch h.Kind {
		case HealthCheckHTTP:
			pb.HealthChecker = &corev3.HealthCheck_HttpHealthCheck_{HttpHealthCheck: &corev3.HealthCheck_HttpHealthCheck{
				Path: h.Path,
				Host: h.Host,
			}}
		case HealthCheckTCP:
			pb.HealthChecker = &corev3.HealthCheck_TcpHealthCheck_{TcpHealthCheck: &corev3.HealthCheck_TcpHealthCheck{}}
		case HealthCheckGRPC:
			pb.HealthChecker = &corev3.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &corev3.HealthCheck_GrpcHealthCheck{
				ServiceName: h.ServiceName,
				Authority:   h.Authority,
			}}
		}
		out = append(out, pb)
	}
	return out
}
