package xds

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/serin-dev/serin/pkg/tlsfiles"
)

// fleetCandidates lists, in order of preference, the fleet names a node
// asks for. node.metadata.role overrides node.cluster, for Gloo-style
// bootstraps whose role is "namespace~proxy": the whole role, then the part
// after the last "~". The snapshot cache picks the first that names a fleet
// and falls back to "default".
func fleetCandidates(n *corev3.Node) []string {
	var out []string
	if role := n.GetMetadata().GetFields()["role"].GetStringValue(); role != "" {
		out = append(out, role)
		if i := strings.LastIndex(role, "~"); i >= 0 && i+1 < len(role) {
			out = append(out, role[i+1:])
		}
	}
	if c := n.GetCluster(); c != "" {
		out = append(out, c)
	}
	return out
}

// FleetAccess says which client identities may read which fleet. An
// identity is what a verified client certificate names (tlsfiles.Identities:
// its URI SANs, SPIFFE IDs, or else its DNS SANs). Once any rule is given,
// a fleet without a rule is closed to everyone, the default fleet included:
// a node cannot reach a fleet by naming a cluster nobody thought of.
type FleetAccess struct {
	patterns map[string][]string // fleet -> glob patterns
}

// ParseFleetAccess reads rules of the form FLEET=PATTERN (the repeatable
// --fleet-identity flag). PATTERN is a glob on an identity where "*"
// matches any run of characters, "/" included, and "?" one character:
// edge=spiffe://cluster.local/ns/edge/*. No rules returns nil: no
// authorization, every node reads the fleet it names.
func ParseFleetAccess(rules []string) (*FleetAccess, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	a := &FleetAccess{patterns: map[string][]string{}}
	for _, r := range rules {
		fleet, pattern, ok := strings.Cut(r, "=")
		if !ok || fleet == "" || pattern == "" {
			return nil, fmt.Errorf("fleet identity %q: want FLEET=PATTERN", r)
		}
		a.patterns[fleet] = append(a.patterns[fleet], pattern)
	}
	return a, nil
}

// Allows reports whether a node with these identities may read fleet. No
// identity (plaintext, or TLS without a client certificate) reads nothing.
func (a *FleetAccess) Allows(fleet string, identities []string) bool {
	for _, p := range a.patterns[fleet] {
		for _, id := range identities {
			if glob(p, id) {
				return true
			}
		}
	}
	return false
}

// glob matches s against pattern, where "*" is any run of characters
// (path.Match's "*" stops at "/", and SPIFFE IDs are paths) and "?" is one.
func glob(pattern, s string) bool {
	// Iterative with one backtrack point: linear in practice, no recursion
	// on a client-controlled string.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// peerIdentities returns the identities of a stream's verified client
// certificate, or nil without one.
func peerIdentities(ctx context.Context) []string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil // no client CA configured, or no certificate: nothing verified
	}
	return tlsfiles.Identities(info.State.VerifiedChains[0][0])
}

// guarded is an ADS or LRS stream whose node may read only the fleets its
// certificate allows. The streams' own code (sotw.go, delta.go, lrs.go)
// does not know: the first request is checked before the stream sees it,
// and every response is checked again before it leaves, against the fleet
// the node resolves to at that moment. A node that names a fleet it may
// not read gets PermissionDenied and nothing else; so does a node whose
// cluster names a fleet that appears later while it is connected.
type guarded[Req, Resp any] struct {
	grpc.BidiStreamingServer[Req, Resp]
	s        *Server
	protocol string
	nodeOf   func(*Req) *corev3.Node
	ids      []string
	peer     string

	mu    sync.Mutex
	node  *corev3.Node // nil until the first request
	cands []string
	// refused is the refusal once the stream was refused: its receiving
	// and sending sides may both find out, and a stream counts once.
	refused error
}

func guard[Req, Resp any](s *Server, ss grpc.BidiStreamingServer[Req, Resp], protocol string, nodeOf func(*Req) *corev3.Node) *guarded[Req, Resp] {
	g := &guarded[Req, Resp]{BidiStreamingServer: ss, s: s, protocol: protocol, nodeOf: nodeOf, ids: peerIdentities(ss.Context())}
	if p, ok := peer.FromContext(ss.Context()); ok && p.Addr != nil {
		g.peer = p.Addr.String()
	}
	return g
}

// Recv checks the node of the first request.
func (g *guarded[Req, Resp]) Recv() (*Req, error) {
	r, err := g.BidiStreamingServer.Recv()
	if err != nil {
		return r, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.node == nil {
		g.node = g.nodeOf(r)
		if g.node == nil {
			g.node = &corev3.Node{}
		}
		g.cands = fleetCandidates(g.node)
	}
	if err := g.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Send checks the node's fleet again: it may have moved since the first
// request.
func (g *guarded[Req, Resp]) Send(resp *Resp) error {
	g.mu.Lock()
	err := g.check()
	g.mu.Unlock()
	if err != nil {
		return err
	}
	return g.BidiStreamingServer.Send(resp)
}

// check refuses the stream if its node's fleet is not one its identities
// may read. Callers hold mu.
func (g *guarded[Req, Resp]) check() error {
	if g.refused != nil {
		return g.refused
	}
	if g.node == nil {
		// Nothing is sent before the first request; refuse anyway.
		return status.Error(codes.PermissionDenied, "xds: no node yet")
	}
	fleet, _ := g.s.cache.Resolve(g.cands...)
	if g.s.access.Allows(fleet, g.ids) {
		return nil
	}
	g.s.denied.WithLabelValues(g.protocol, fleet).Inc()
	g.s.log.Warn("xds stream refused: its identity may not read the fleet it names",
		"protocol", g.protocol, "node", g.node.GetId(), "fleet", fleet, "identities", g.ids, "peer", g.peer)
	if len(g.ids) == 0 {
		g.refused = status.Errorf(codes.PermissionDenied, "fleet %q needs a client certificate", fleet)
	} else {
		g.refused = status.Errorf(codes.PermissionDenied, "identity %v may not read fleet %q", g.ids, fleet)
	}
	return g.refused
}
