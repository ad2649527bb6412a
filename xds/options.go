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

	// DefaultMaxConnectionAge: after about 30 minutes (gRPC adds ±10%
	// jitter) the server sends GOAWAY, so that clients reconnect and
	// spread over replicas that came up since they connected (a rollout
	// of serin, a scale-up); without it every node stays on the replica it
	// first reached for as long as it lives. Istio's istiod uses the same
	// 30 minutes. A reconnect costs one full push per node: 1,000 nodes
	// over 30 minutes is one every 1.8 s.
	DefaultMaxConnectionAge = 30 * time.Minute
	// DefaultMaxConnectionAgeGrace is how long streams may go on after the
	// GOAWAY before the connection is closed. ADS streams never end on
	// their own, so this only lets a response in flight finish; clients
	// open their new connection as soon as the GOAWAY arrives.
	DefaultMaxConnectionAgeGrace = 10 * time.Second
)

// MaxConnectionAge returns the server option that ends connections after
// age (with gRPC's ±10% jitter) and closes them grace later; age 0 keeps
// connections for ever. Pass it to NewGRPCServer.
func MaxConnectionAge(age, grace time.Duration) grpc.ServerOption {
	p := keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}
	if age > 0 {
		p.MaxConnectionAge, p.MaxConnectionAgeGrace = age, grace
	}
	return grpc.KeepaliveParams(p)
}

// NewGRPCServer returns a grpc.Server configured for xDS: keepalive in both
// directions, a maximum connection age, message sizes and a stream limit
// (see the constants above).
// extra options are applied after these, so they can override them (e.g.
// TLS credentials).
func NewGRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxSendMsgSize(maxSendMsgSize),
		MaxConnectionAge(DefaultMaxConnectionAge, DefaultMaxConnectionAgeGrace),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: minClientPingInterval,
			// ADS clients keep pinging between streams (e.g. while
			// reconnecting); those pings are not abuse.
			PermitWithoutStream: true,
		}),
	}
	return grpc.NewServer(append(opts, extra...)...)
}
