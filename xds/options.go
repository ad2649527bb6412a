package xds

import (
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// gRPC server settings for a long-lived xDS port. Every number says why.
const (
	// A node holds one ADS stream, maybe an LRS and a metrics-service
	// stream, on one connection. 100 (HTTP/2's recommended minimum) leaves
	// room for many clients multiplexed behind one connection while a
	// misbehaving peer cannot open unbounded streams.
	maxConcurrentStreams = 100

	// Requests are small except LRS reports and delta
	// initial_resource_versions, which grow with the number of clusters.
	// gRPC's default of 4 MiB would cut off a node with a few tens of
	// thousands of clusters; 16 MiB still bounds memory per message.
	maxRecvMsgSize = 16 << 20

	// A full CDS response of a large fleet can exceed any fixed cap and a
	// truncated response breaks the client, so the server does not cap what
	// it sends; clients bound what they accept.
	maxSendMsgSize = math.MaxInt32

	// The server pings a connection idle for 30 s and drops it after 5 s
	// without an answer: a node that vanished (host died, network
	// partition) leaves the node registry and the connected gauge within
	// ~35 s instead of holding a half-open stream for TCP's hours.
	keepaliveTime    = 30 * time.Second
	keepaliveTimeout = 5 * time.Second

	// Clients may ping every 10 s (grpc-go's floor for client keepalive;
	// Envoy bootstraps commonly use 30 s). gRPC's default of 5 min would
	// answer such clients with GOAWAY too_many_pings and drop their streams.
	minClientPingInterval = 10 * time.Second
)

// NewGRPCServer returns a grpc.Server configured for xDS: keepalive in both
// directions, message sizes and a stream limit (see the constants above).
// extra options are applied after these, so they can override them (e.g.
// TLS credentials).
func NewGRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxSendMsgSize(maxSendMsgSize),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:    keepaliveTime,
			Timeout: keepaliveTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: minClientPingInterval,
			// ADS clients keep pinging between streams (e.g. while
			// reconnecting); those pings are not abuse.
			PermitWithoutStream: true,
		}),
	}
	return grpc.NewServer(append(opts, extra...)...)
}
