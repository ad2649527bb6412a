package translator

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// maxRingSize is Envoy's upper bound for ring_hash_lb_config ring sizes.
const maxRingSize = 8388608

func loadBalancerIR(p *problems, lb *v1alpha1.LoadBalancer) LoadBalancer {
	var out LoadBalancer
	if lb == nil {
		return out
	}
	switch {
	case lb.LeastRequest != nil:
		out.Policy = LBLeastRequest
		out.ChoiceCount = lb.LeastRequest.ChoiceCount
	case lb.Random != nil:
		out.Policy = LBRandom
	case lb.RingHash != nil:
		out.Policy = LBRingHash
		out.MinimumRingSize, out.MaximumRingSize = lb.RingHash.MinimumRingSize, lb.RingHash.MaximumRingSize
		for _, v := range []*uint64{out.MinimumRingSize, out.MaximumRingSize} {
			if v != nil && *v > maxRingSize {
				p.reject("spec.loadBalancer.ringHash", "ring sizes must not exceed 8388608")
				break
			}
		}
	}
	if out.ChoiceCount != nil && *out.ChoiceCount < 2 {
		p.reject("spec.loadBalancer.leastRequest.choiceCount", "must be at least 2")
	}
	return out
}

// applyLoadBalancer sets the policy and its config on a cluster.
func applyLoadBalancer(c *clusterv3.Cluster, lb LoadBalancer) {
	switch lb.Policy {
	case LBRoundRobin:
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
	case LBLeastRequest:
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
		if lb.ChoiceCount != nil {
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{
				ChoiceCount: wrapperspb.UInt32(*lb.ChoiceCount),
			}}
		}
	case LBRandom:
		c.LbPolicy = clusterv3.Cluster_RANDOM
	case LBRingHash:
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		if lb.MinimumRingSize != nil || lb.MaximumRingSize != nil {
			cfg := &clusterv3.Cluster_RingHashLbConfig{}
			if lb.MinimumRingSize != nil {
				cfg.MinimumRingSize = wrapperspb.UInt64(*lb.MinimumRingSize)
			}
			if lb.MaximumRingSize != nil {
				cfg.MaximumRingSize = wrapperspb.UInt64(*lb.MaximumRingSize)
			}
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: cfg}
		}
	}
}
