package xds

import (
	"cmp"
	"slices"
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// NodeStatus is one connected stream, as GET /api/v1/nodes lists it.
type NodeStatus struct {
	ID        string       `json:"id"`
	Cluster   string       `json:"cluster"`
	Fleet     string       `json:"fleet"`
	Protocol  string       `json:"protocol"` // sotw or delta
	Address   string       `json:"address,omitempty"`
	UserAgent string       `json:"userAgent,omitempty"`
	Connected time.Time    `json:"connected"`
	Types     []TypeStatus `json:"types"`
}

// TypeStatus is a node's state for one resource type.
type TypeStatus struct {
	Type         string    `json:"type"` // cluster, endpoint, listener, route
	TypeURL      string    `json:"typeUrl"`
	Wildcard     bool      `json:"wildcard,omitempty"`
	Subscribed   int       `json:"subscribed"` // names asked for, besides a wildcard
	SentVersion  string    `json:"sentVersion,omitempty"`
	SentNonce    string    `json:"sentNonce,omitempty"`
	SentAt       time.Time `json:"sentAt,omitzero"`
	AckedVersion string    `json:"ackedVersion,omitempty"`
	LastNack     *Nack     `json:"lastNack,omitempty"`
}

// Nodes lists the connected nodes sorted by id, in push-order of types.
func (s *Server) Nodes() []NodeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NodeStatus, 0, len(s.streams))
	for _, st := range s.streams {
		if ns, ok := st.status(); ok {
			out = append(out, ns)
		}
	}
	slices.SortFunc(out, func(a, b NodeStatus) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), a.Connected.Compare(b.Connected))
	})
	return out
}

func (st *stream) status() (NodeStatus, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.node == nil {
		return NodeStatus{}, false
	}
	ns := NodeStatus{
		ID:        st.node.GetId(),
		Cluster:   st.node.GetCluster(),
		Fleet:     st.fleet,
		Protocol:  st.protocol,
		Address:   st.peer,
		UserAgent: st.node.GetUserAgentName(),
		Connected: st.connected,
		Types:     []TypeStatus{},
	}
	for k := range snapshot.NumKinds {
		t := st.types[k]
		if t == nil || !t.sub.requested {
			continue
		}
		ts := TypeStatus{
			Type:         k.String(),
			TypeURL:      k.TypeURL(),
			Wildcard:     t.sub.wildcard,
			Subscribed:   len(t.sub.names),
			SentVersion:  t.acks.sentVersion,
			SentNonce:    t.acks.sentNonce,
			SentAt:       t.acks.sentAt,
			AckedVersion: t.acks.ackedVersion,
		}
		if t.acks.lastNack != nil {
			n := *t.acks.lastNack
			ts.LastNack = &n
		}
		ns.Types = append(ns.Types, ts)
	}
	return ns, true
}
