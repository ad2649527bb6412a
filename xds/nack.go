package xds

import (
	"time"

	"github.com/serin-dev/serin/pkg/ident"
)

// NackStatus is the last rejection of a type by a node.
type NackStatus struct {
	Version string    `json:"version"`
	Nonce   string    `json:"nonce"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// Nack is one rejected response, attributed to the objects its resources
// were built from, so that they can be marked Warning naming the node and
// the node's message.
type Nack struct {
	NodeID  string
	Cluster string // node.cluster
	Fleet   string
	TypeURL string
	// Version is the rejected version; the node keeps its last ACKed one.
	Version string
	Message string
	Time    time.Time
	// Resources are the names in the rejected response.
	Resources []string
	// Objects built those resources (via translator.Resources.Origins).
	Objects []ident.Ref
}

// nack records a NACK: metrics, log, hook. Callers hold st.mu; the hook
// runs later, outside it (see stream handlers).
func (st *stream) nack(t *typeState, ns *NackStatus) Nack {
	st.srv.metrics.nacks.WithLabelValues(t.kind.String()).Inc()
	n := Nack{
		NodeID:    st.node.GetId(),
		Cluster:   st.node.GetCluster(),
		Fleet:     st.fleet,
		TypeURL:   t.kind.TypeURL(),
		Version:   ns.Version,
		Message:   ns.Message,
		Time:      ns.Time,
		Resources: t.sentNames,
	}
	if t.sentSnap != nil {
		n.Objects = t.sentSnap.Origins(t.kind, t.sentNames)
	}
	st.srv.log.Warn("node rejected configuration",
		"node", n.NodeID, "fleet", n.Fleet, "type", t.kind.String(), "version", n.Version,
		"message", n.Message, "objects", len(n.Objects))
	return n
}

func (s *Server) emitNack(n *Nack) {
	if n != nil && s.onNack != nil {
		s.onNack(*n)
	}
}
