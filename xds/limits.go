package xds

import (
	"fmt"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Limits bound what one peer of the xDS port can make the server keep.
// Anyone who reaches the port is a peer until TLS and fleet authorization
// say otherwise, so every field is a cap on memory, log or status text
// that a peer's input would otherwise grow without bound. Zero means the
// default; a negative value switches the cap off (tests only).
type Limits struct {
	// MaxNodeIDBytes: a node id is a host or pod name with a prefix
	// (Istio's sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local is ~100 B,
	// Kubernetes names stop at 253); 1 KiB is 4x that. Every stream, log
	// line, NACK and API entry of the node carries it.
	MaxNodeIDBytes int
	// MaxNodeMetadataBytes: node.metadata of a real Envoy or Istio proxy
	// (labels, annotations, platform) is a few KiB; 64 KiB leaves room
	// for large label sets while bounding what each stream keeps.
	MaxNodeMetadataBytes int
	// MaxResourceNames per request and per stream and type: serin's
	// largest measured input, 10,000 services, is 20,000 EDS names per
	// node; 100,000 is 5x that and bounds a subscription to ~10 MB.
	MaxResourceNames int
	// MaxNackMessageBytes: Envoy's rejection reasons are one line naming
	// the resource and the field (~100-300 B); 1 KiB keeps that whole and
	// caps what memory, the log and object status keep of a NACK.
	MaxNackMessageBytes int
	// MaxStreams is ADS plus LRS streams across the server: a node holds
	// one of each, and serin-load has run 5,000 nodes (10,000 streams);
	// 20,000 is 2x that, ~200 MB of live heap at the ~10 KB per idle
	// stream docs/performance.md measures.
	MaxStreams int
	// MaxLRSClusters per report: a node reports the clusters it holds,
	// 20,000 at serin's largest measured input (10,000 services); 40,000
	// is 2x that and bounds the work one report costs.
	MaxLRSClusters int
	// MaxLRSLocalities per cluster in a report: localities are
	// region/zone/sub-zone triples, a few dozen in the largest
	// deployments; 1,000 is far above that.
	MaxLRSLocalities int
	// MaxLoadClusters is how many clusters the load store keeps totals
	// for; the least recently reported is forgotten beyond it. Only
	// served clusters enter it, so this is 2x the clusters of the
	// largest measured input (20,000), room for drained and renamed ones.
	MaxLoadClusters int
	// MaxResponseBytesInFlight bounds the bytes of large responses sent
	// and not yet answered, across the server (budget.go): the memory a
	// connect storm costs.
	MaxResponseBytesInFlight int
}

// DefaultLimits are the bounds `serin serve` starts with (see each field
// for why that number).
var DefaultLimits = Limits{
	MaxNodeIDBytes:           1 << 10,
	MaxNodeMetadataBytes:     64 << 10,
	MaxResourceNames:         100_000,
	MaxNackMessageBytes:      1 << 10,
	MaxStreams:               20_000,
	MaxLRSClusters:           40_000,
	MaxLRSLocalities:         1_000,
	MaxLoadClusters:          40_000,
	MaxResponseBytesInFlight: DefaultMaxResponseBytesInFlight,
}

// WithLimits sets the server's bounds; zero fields keep their default.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l.withDefaults() } }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	def := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&l.MaxNodeIDBytes, d.MaxNodeIDBytes)
	def(&l.MaxNodeMetadataBytes, d.MaxNodeMetadataBytes)
	def(&l.MaxResourceNames, d.MaxResourceNames)
	def(&l.MaxNackMessageBytes, d.MaxNackMessageBytes)
	def(&l.MaxStreams, d.MaxStreams)
	def(&l.MaxLRSClusters, d.MaxLRSClusters)
	def(&l.MaxLRSLocalities, d.MaxLRSLocalities)
	def(&l.MaxLoadClusters, d.MaxLoadClusters)
	def(&l.MaxResponseBytesInFlight, d.MaxResponseBytesInFlight)
	return l
}

// over reports whether n exceeds the cap limit (negative: no cap).
func over(n, limit int) bool { return limit >= 0 && n > limit }

// checkNode refuses a node whose id or metadata is over the limits. It is
// called on the first request of every ADS and LRS stream, before the
// node is kept anywhere.
func (s *Server) checkNode(n *corev3.Node) error {
	if id := n.GetId(); over(len(id), s.limits.MaxNodeIDBytes) {
		s.metrics.refused.WithLabelValues("node_id_too_large").Inc()
		return status.Errorf(codes.InvalidArgument, "node id is %d bytes, over the server's limit of %d (--xds-max-node-id-bytes)",
			len(id), s.limits.MaxNodeIDBytes)
	}
	if c := n.GetCluster(); over(len(c), s.limits.MaxNodeIDBytes) {
		s.metrics.refused.WithLabelValues("node_id_too_large").Inc()
		return status.Errorf(codes.InvalidArgument, "node cluster is %d bytes, over the server's limit of %d (--xds-max-node-id-bytes)",
			len(c), s.limits.MaxNodeIDBytes)
	}
	if md := n.GetMetadata(); md != nil {
		if size := proto.Size(md); over(size, s.limits.MaxNodeMetadataBytes) {
			s.metrics.refused.WithLabelValues("node_metadata_too_large").Inc()
			return status.Errorf(codes.InvalidArgument, "node metadata is %d bytes, over the server's limit of %d (--xds-max-node-metadata-bytes)",
				size, s.limits.MaxNodeMetadataBytes)
		}
	}
	return nil
}

// checkNames refuses a request or subscription naming more resources than
// the limit.
func (s *Server) checkNames(n int, typeURL string) error {
	if over(n, s.limits.MaxResourceNames) {
		s.metrics.refused.WithLabelValues("too_many_names").Inc()
		return status.Errorf(codes.InvalidArgument, "%d resource names of %s, over the server's limit of %d (--xds-max-resource-names)",
			n, typeURL, s.limits.MaxResourceNames)
	}
	return nil
}

// openStream counts a new ADS or LRS stream against MaxStreams; the
// caller calls the returned func when the stream ends.
func (s *Server) openStream(kind string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if over(s.open+1, s.limits.MaxStreams) {
		s.metrics.refused.WithLabelValues("too_many_streams").Inc()
		return nil, status.Errorf(codes.ResourceExhausted, "%s stream refused: the server holds %d xDS streams, its limit (--xds-max-streams); retry later or on another replica",
			kind, s.open)
	}
	s.open++
	return func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}, nil
}

// truncateText cuts s to at most limit bytes on a rune boundary, saying
// how much was cut.
func truncateText(s string, limit int) string {
	if !over(len(s), limit) {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... [truncated by serin: %d of %d bytes kept]", s[:cut], cut, len(s))
}
