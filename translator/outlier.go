package translator

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func outlierIR(od *v1alpha1.OutlierDetection) *OutlierDetection {
	if od == nil {
		return nil
	}
	return &OutlierDetection{
		Consecutive5xx:            od.Consecutive5xx,
		ConsecutiveGatewayFailure: od.ConsecutiveGatewayFailure,
		// Validate rejects unparsable and non-positive durations; 0 leaves
		// Envoy's default.
		Interval:           od.Interval.Get(0),
		BaseEjectionTime:   od.BaseEjectionTime.Get(0),
		MaxEjectionPercent: od.MaxEjectionPercent,
	}
}

func buildOutlier(od *OutlierDetection) *clusterv3.OutlierDetection {
	if od == nil {
		return nil
	}
	pb := &clusterv3.OutlierDetection{
		Consecutive_5Xx:           u32(od.Consecutive5xx),
		ConsecutiveGatewayFailure: u32(od.ConsecutiveGatewayFailure),
		MaxEjectionPercent:        u32(od.MaxEjectionPercent),
	}
	if od.Interval > 0 {
		pb.Interval = durationpb.New(od.Interval)
	}
	if od.BaseEjectionTime > 0 {
		pb.BaseEjectionTime = durationpb.New(od.BaseEjectionTime)
	}
	return pb
}

// u32 wraps an optional value; nil stays unset.
func u32(v *uint32) *wrapperspb.UInt32Value {
	if v == nil {
		return nil
	}
	return wrapperspb.UInt32(*v)
}
