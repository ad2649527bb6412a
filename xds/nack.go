package xds

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Nack is one rejected response: which node rejected what, its message,
// and the objects the rejected resources were built from, so that they can
// be marked Warning naming the node and the node's message. xds is the one
// owner of NACKs: a stream keeps its type's last one (Server.Nodes shows
// it), the hook gets each new one, and Server.StandingNacks answers which
// still stand (standing.go).
//
// Its JSON form is a node's lastNack in GET /api/v1/nodes, where the node
// and the type are the enclosing entry's; the resource names can be
// thousands.
type Nack struct {
	NodeID  string `json:"-"`
	Cluster string `json:"-"` // node.cluster
	Fleet   string `json:"-"`
	TypeURL string `json:"-"`
	// Version is the rejected version; the node keeps its last ACKed one.
	Version string    `json:"version"`
	Nonce   string    `json:"nonce"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
	// Resources are the names in the rejected response.
	Resources []string `json:"-"`
	// Objects built those resources (via translator.Resources.Origins).
	Objects []ident.Ref `json:"-"`
}

// Status is n as the API reports it on an object's status: the one
// conversion to v1alpha1.NackStatus. The API server keeps whole seconds.
func (n Nack) Status() v1alpha1.NackStatus {
	return v1alpha1.NackStatus{
		Node: n.NodeID, TypeURL: n.TypeURL, Version: n.Version, Message: n.Message,
		Time: metav1.NewTime(n.Time.Truncate(time.Second)),
	}
}

// nack records that the node rejected t's latest response with message:
// the type's last NACK, a standing NACK, metrics, log. It returns the NACK
// for the hook, which runs later, outside st.mu (see the stream handlers).
// Callers hold st.mu.
func (st *stream) nack(t *typeState, message string, now time.Time) Nack {
	st.srv.metrics.nacks.WithLabelValues(t.kind.String()).Inc()
	// The message is the peer's text: it is kept, logged and written into
	// object status, so only its first MaxNackMessageBytes are.
	message = truncateText(message, st.srv.limits.MaxNackMessageBytes)
	n := &Nack{
		NodeID:    st.node.GetId(),
		Cluster:   st.node.GetCluster(),
		Fleet:     st.fleet,
		TypeURL:   t.kind.TypeURL(),
		Version:   t.acks.sentVersion,
		Nonce:     t.acks.sentNonce,
		Message:   message,
		Time:      now,
		Resources: t.acks.sentNames,
	}
	if t.acks.sentSnap != nil {
		n.Objects = t.acks.sentSnap.Origins(t.kind, t.acks.sentNames)
	}
	t.acks.lastNack = n
	st.srv.standing.add(st.id, t.kind, n)
	st.srv.log.Warn("node rejected configuration",
		"node", n.NodeID, "fleet", n.Fleet, "type", t.kind.String(), "version", n.Version,
		"message", n.Message, "objects", len(n.Objects))
	return *n
}

func (s *Server) emitNack(n *Nack) {
	if n != nil && s.onNack != nil {
		s.onNack(*n)
	}
}
