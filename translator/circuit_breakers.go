package translator

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func breakersIR(cb *v1alpha1.CircuitBreakers) *CircuitBreakers {
	if cb == nil {
		return nil
	}
	return &CircuitBreakers{
		MaxConnections:     cb.MaxConnections,
		MaxPendingRequests: cb.MaxPendingRequests,
		MaxRequests:        cb.MaxRequests,
		MaxRetries:         cb.MaxRetries,
	}
}

// buildBreakers sets the thresholds of the default priority only: serin
// routes carry no priority, so the high-priority thresholds never apply.
func buildBreakers(cb *CircuitBreakers) *clusterv3.CircuitBreakers {
	if cb == nil {
		return nil
	}
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
		Priority:           corev3.RoutingPriority_DEFAULT,
		MaxConnections:     u32(cb.MaxConnections),
		MaxPendingRequests: u32(cb.MaxPendingRequests),
		MaxRequests:        u32(cb.MaxRequests),
		MaxRetries:         u32(cb.MaxRetries),
	}}}
}
