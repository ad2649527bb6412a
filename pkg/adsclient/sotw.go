package adsclient

import (
	"context"
	"fmt"
	"slices"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

type (
	sotwReq   = discoveryv3.DiscoveryRequest
	deltaReq  = discoveryv3.DeltaDiscoveryRequest
	sotwResp  = discoveryv3.DiscoveryResponse
	deltaResp = discoveryv3.DeltaDiscoveryResponse
)

func (c *Client) startSotw(ctx context.Context, conn grpc.ClientConnInterface) error {
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("open ADS stream: %w", err)
	}
	c.sendSotw = func(r *sotwReq) error {
		c.sendMu.Lock()
		defer c.sendMu.Unlock()
		return stream.Send(r)
	}
	// Envoy asks for clusters and listeners by wildcard first.
	for _, t := range []string{ClusterType, ListenerType} {
		if err := c.sendSotw(&sotwReq{Node: c.cfg.Node, TypeUrl: t}); err != nil {
			return fmt.Errorf("subscribe %s: %w", t, err)
		}
	}
	go func() {
		defer close(c.done)
		for {
			resp, err := stream.Recv()
			if err != nil {
				c.err = err
				return
			}
			if err := c.onSotw(resp); err != nil {
				c.err = err
				c.cancel()
				return
			}
		}
	}()
	return nil
}

// onSotw applies a response, ACKs or NACKs it, and follows new names.
func (c *Client) onSotw(resp *sotwResp) error {
	r := Response{
		TypeURL: resp.GetTypeUrl(), Version: resp.GetVersionInfo(), Nonce: resp.GetNonce(),
		Resources: len(resp.GetResources()), Bytes: proto.Size(resp), Received: time.Now(),
		Raw: resp.GetResources(),
	}
	c.mu.Lock()
	st, ok := c.state[r.TypeURL]
	if !ok {
		c.mu.Unlock()
		return fmt.Errorf("response of unknown type %q", r.TypeURL)
	}
	st.responses++
	st.bytes += r.Bytes
	nack, msg := false, ""
	if c.cfg.Reject != nil {
		nack, msg = c.cfg.Reject(r)
	}
	var decodeErr error
	resources := map[string]*anypb.Any{}
	decoded := map[string]proto.Message{}
	lean := c.leanType(r.TypeURL)
	if !nack && lean {
		if err := c.leanSotw(st, r.TypeURL, resp.GetResources()); err != nil {
			nack, msg = true, err.Error()
		}
	}
	if !nack && !lean {
		for _, a := range resp.GetResources() {
			name, m, err := c.named(r.TypeURL, a)
			if err != nil {
				decodeErr = err
				break
			}
			resources[name] = a
			if m != nil {
				decoded[name] = m
			}
		}
		if decodeErr != nil {
			nack, msg = true, decodeErr.Error()
		}
	}
	req := &sotwReq{TypeUrl: r.TypeURL, ResponseNonce: r.Nonce, ResourceNames: st.names}
	if nack {
		r.Nacked = true
		st.lastNack = msg
		req.VersionInfo = st.acked
		req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: msg}
	} else {
		st.version, st.acked, st.nonce = r.Version, r.Version, r.Nonce
		if !lean {
			st.resources, st.decoded = resources, decoded
		}
		req.VersionInfo = r.Version
	}
	depType, depNames := "", []string(nil)
	if !nack {
		depType, depNames = c.dependents(r.TypeURL)
	}
	var depReq *sotwReq
	if depType != "" {
		dep := c.state[depType]
		if dep.names == nil || !slices.Equal(dep.names, depNames) {
			dep.names = depNames
			if dep.names == nil {
				dep.names = []string{}
			}
			depReq = &sotwReq{TypeUrl: depType, ResourceNames: dep.names, VersionInfo: dep.acked, ResponseNonce: dep.nonce}
		}
	}
	c.notify()
	c.mu.Unlock()

	if err := c.sendSotw(req); err != nil {
		return err
	}
	if depReq != nil {
		if err := c.sendSotw(depReq); err != nil {
			return err
		}
	}
	if c.cfg.OnResponse != nil {
		c.cfg.OnResponse(r)
	}
	return nil
}

// named decodes what the client needs of a resource: its name always, the
// message when it follows names from it or Config.Decode asks. Names are
// read straight off the wire (field 1 in all four types), so thousands of
// load-test clients don't unmarshal every route and endpoint.
func (c *Client) named(typeURL string, a *anypb.Any) (string, proto.Message, error) {
	if a.GetTypeUrl() != typeURL {
		return "", nil, fmt.Errorf("resource of type %q in a %q response", a.GetTypeUrl(), typeURL)
	}
	if typeURL != ClusterType && typeURL != ListenerType && !c.cfg.Decode {
		name, err := nameOf(a.GetValue())
		if err != nil || name == "" {
			return "", nil, fmt.Errorf("%s without a name: %v", typeURL, err)
		}
		return name, nil, nil
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return "", nil, fmt.Errorf("decode %s: %w", typeURL, err)
	}
	name := resourceName(m)
	if name == "" {
		return "", nil, fmt.Errorf("%s without a name", typeURL)
	}
	return name, m, nil
}

// nameOf returns field 1 (a string) of a serialized message.
func nameOf(b []byte) (string, error) { return fieldString(b, 1) }

func resourceName(m proto.Message) string {
	type named interface{ GetName() string }
	type clusterNamed interface{ GetClusterName() string }
	if n, ok := m.(named); ok {
		return n.GetName()
	}
	if n, ok := m.(clusterNamed); ok {
		return n.GetClusterName()
	}
	return ""
}
