package xds

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// StatsTrust is how far Envoy stats (the metrics-service stream, which
// shares the xDS port) are believed: as far as load reports are. A stream
// is admitted as an ADS or LRS stream is (the node's bounds, and under
// mTLS the fleet its identity may read), and a cluster's stats count only
// when that cluster was served to the node. It satisfies metrics.Trust.
type StatsTrust struct{ s *Server }

// StatsTrust returns the server's trust for Envoy stats.
func (s *Server) StatsTrust() StatsTrust { return StatsTrust{s} }

// Admit checks the first node of a stats stream.
func (t StatsTrust) Admit(ctx context.Context, node *corev3.Node) error {
	s := t.s
	if err := s.checkNode(node); err != nil {
		return err
	}
	if s.access == nil {
		return nil // no fleet rules: every node reads every fleet
	}
	fleet, _ := s.cache.Resolve(fleetCandidates(node)...)
	ids := peerIdentities(ctx)
	if s.access.Allows(fleet, ids) {
		return nil
	}
	s.denied.WithLabelValues("metrics", fleet).Inc()
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	s.log.Warn("xds stream refused: its identity may not read the fleet it names",
		"protocol", "metrics", "node", node.GetId(), "fleet", fleet, "identities", ids, "peer", addr)
	if len(ids) == 0 {
		return status.Errorf(codes.PermissionDenied, "fleet %q needs a client certificate", fleet)
	}
	return status.Errorf(codes.PermissionDenied, "identity %v may not read fleet %q", ids, fleet)
}

// Served returns, for one flush of node, whether a cluster's stats count:
// only clusters serin sent to that node id in its fleet. Envoy's own
// static clusters (its xDS cluster) and made-up names are ignored.
func (t StatsTrust) Served(node *corev3.Node) func(cluster string) bool {
	fleet, _ := t.s.cache.Resolve(fleetCandidates(node)...)
	return t.s.servedClusters(node.GetId(), fleet).has
}
