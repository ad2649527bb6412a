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

func (c *Client) startDelta(ctx context.Context, conn grpc.ClientConnInterface) error {
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("open delta ADS stream: %w", err)
	}
	c.sendDlt = func(r *deltaReq) error {
		c.sendMu.Lock()
		defer c.sendMu.Unlock()
		return stream.Send(r)
	}
	// Wildcard for clusters and listeners, as Envoy does: "*" explicitly.
	for _, t := range []string{ClusterType, ListenerType} {
		if err := c.sendDlt(&deltaReq{Node: c.cfg.Node, TypeUrl: t, ResourceNamesSubscribe: []string{"*"}}); err != nil {
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
			if err := c.onDelta(resp); err != nil {
				c.err = err
				c.cancel()
				return
			}
		}
	}()
	return nil
}

func (c *Client) onDelta(resp *deltaResp) error {
	r := Response{
		TypeURL: resp.GetTypeUrl(), Version: resp.GetSystemVersionInfo(), Nonce: resp.GetNonce(),
		Resources: len(resp.GetResources()), Removed: len(resp.GetRemovedResources()),
		Bytes: proto.Size(resp), Received: time.Now(),
	}
	if len(resp.GetResources()) > 0 {
		r.Raw = make([]*anypb.Any, len(resp.GetResources()))
		for i, res := range resp.GetResources() {
			r.Raw[i] = res.GetResource()
		}
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
	req := &deltaReq{TypeUrl: r.TypeURL, ResponseNonce: r.Nonce}
	if !nack {
		for _, res := range resp.GetResources() {
			if c.leanType(r.TypeURL) {
				if err := c.leanDelta(st, r.TypeURL, res.GetName(), res.GetResource()); err != nil {
					nack, msg = true, err.Error()
					break
				}
				continue
			}
			name, m, err := c.named(r.TypeURL, res.GetResource())
			if err == nil && name != res.GetName() {
				err = fmt.Errorf("resource named %q carries %q", res.GetName(), name)
			}
			if err != nil {
				nack, msg = true, err.Error()
				break
			}
			st.resources[name] = res.GetResource()
			if m != nil {
				st.decoded[name] = m
			}
		}
	}
	if nack {
		r.Nacked = true
		st.lastNack = msg
		req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: msg}
	} else {
		for _, name := range resp.GetRemovedResources() {
			delete(st.resources, name)
			delete(st.decoded, name)
			delete(st.held, name)
		}
		if c.leanType(r.TypeURL) {
			st.count = len(st.held)
		}
		st.version, st.acked, st.nonce = r.Version, r.Version, r.Nonce
	}
	var depReq *deltaReq
	if !nack {
		if depType, names := c.dependents(r.TypeURL); depType != "" {
			dep := c.state[depType]
			sub, unsub := diff(dep.names, names)
			dep.names = names
			if len(sub)+len(unsub) > 0 {
				depReq = &deltaReq{TypeUrl: depType, ResourceNamesSubscribe: sub, ResourceNamesUnsubscribe: unsub}
				for _, n := range unsub {
					delete(dep.resources, n)
					delete(dep.decoded, n)
					delete(dep.held, n)
				}
				if c.leanType(depType) {
					dep.count = len(dep.held)
				}
			}
		}
	}
	c.notify()
	c.mu.Unlock()

	if err := c.sendDlt(req); err != nil {
		return err
	}
	if depReq != nil {
		if err := c.sendDlt(depReq); err != nil {
			return err
		}
	}
	if c.cfg.OnResponse != nil {
		c.cfg.OnResponse(r)
	}
	return nil
}

// diff returns what is in b and not in a, and what is in a and not in b;
// both inputs sorted.
func diff(a, b []string) (added, removed []string) {
	for _, n := range b {
		if _, found := slices.BinarySearch(a, n); !found {
			added = append(added, n)
		}
	}
	for _, n := range a {
		if _, found := slices.BinarySearch(b, n); !found {
			removed = append(removed, n)
		}
	}
	return added, removed
}
