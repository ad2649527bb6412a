package translator

import (
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// timeoutIR returns the route timeout; nil leaves Envoy's default (15s)
// and "0s" disables it.
func timeoutIR(o *v1alpha1.RouteOptions) *time.Duration {
	if o.Timeout == "" {
		return nil
	}
	d, err := o.Timeout.Parse()
	if err != nil || d < 0 {
		return nil // Validate rejects these
	}
	return &d
}

func retryIR(p *problems, fieldPath string, r *v1alpha1.RetryPolicy) *Retry {
	if r == nil {
		return nil
	}
	if !headerSafe(r.RetryOn) {
		p.reject(fieldPath+".retryOn", "must be valid in an HTTP header")
		return nil
	}
	return &Retry{RetryOn: r.RetryOn, NumRetries: r.NumRetries, PerTryTimeout: r.PerTryTimeout.Get(0)}
}

func buildRetry(r *Retry) *routev3.RetryPolicy {
	if r == nil {
		return nil
	}
	pb := &routev3.RetryPolicy{RetryOn: r.RetryOn, NumRetries: u32(r.NumRetries)}
	if r.PerTryTimeout > 0 {
		pb.PerTryTimeout = durationpb.New(r.PerTryTimeout)
	}
	return pb
}
