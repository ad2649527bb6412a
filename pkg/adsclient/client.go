// Package adsclient is an ADS client that behaves like Envoy: it asks for
// clusters and listeners by wildcard, then for the endpoints and route
// configurations those name, and ACKs every response (or NACKs the ones a
// test wants rejected). It speaks state-of-the-world or delta xDS. The e2e
// tests use it to check what serin serves, and serin-load opens thousands.
package adsclient

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3" // decodes EDS with Config.Decode
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3" // decodes RDS with Config.Decode
	"github.com/serin-dev/serin/pkg/envoyrefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Type URLs, in the order Envoy needs them.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// Types lists the four type URLs in Envoy's order.
var Types = []string{ClusterType, EndpointType, ListenerType, RouteType}

// Response is one response as the client saw it.
type Response struct {
	TypeURL   string
	Version   string // SotW version_info, or delta system_version_info
	Nonce     string
	Resources int
	Removed   int
	Bytes     int
	Received  time.Time
	// Nacked says the client rejected it.
	Nacked bool
	// Raw holds the response's resources as received (delta: the Any of
	// each added or changed resource). Shared with the client: read only,
	// and keep it only as long as needed, it pins the response's bytes.
	Raw []*anypb.Any
}

// Config says whom to connect to, as whom, and how.
type Config struct {
	Node *corev3.Node
	// Delta selects incremental xDS instead of state-of-the-world.
	Delta bool
	// Reject decides whether to NACK a response, and with what message.
	Reject func(r Response) (bool, string)
	// OnResponse is called after each response is applied (and ACKed or
	// NACKed), on the receive goroutine.
	OnResponse func(r Response)
	// Decode keeps decoded resources for Resource/Resources. Without it
	// only clusters and listeners are decoded (to follow their names).
	Decode bool
	// Lean keeps only what following names needs, for load tests with
	// thousands of clients: no resources, no decoded messages (Resources
	// returns nothing; in SotW Names does too, use Count), and clusters'
	// EDS names are read off the wire instead of decoding each cluster.
	// Decode is ignored.
	Lean bool
}

// Client is one ADS stream.
type Client struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}
	err    error

	mu       sync.Mutex
	changed  chan struct{}
	state    map[string]*typeState
	sendMu   sync.Mutex
	sendSotw func(*sotwReq) error
	sendDlt  func(*deltaReq) error
}

type typeState struct {
	version   string
	acked     string
	nonce     string
	names     []string // subscription; nil = wildcard
	resources map[string]*anypb.Any
	decoded   map[string]proto.Message
	responses int
	bytes     int
	lastNack  string
	// Lean mode: count of resources held; SotW: the dependents of the last
	// applied response; delta: name -> dependent name ("" for none).
	count   int
	leanDep []string
	held    map[string]string
}

// Start opens the stream on conn and subscribes like Envoy.
func Start(ctx context.Context, conn grpc.ClientConnInterface, cfg Config) (*Client, error) {
	ctx, cancel := context.WithCancel(ctx)
	c := &Client{cfg: cfg, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}), state: map[string]*typeState{}}
	for _, t := range Types {
		c.state[t] = &typeState{resources: map[string]*anypb.Any{}, decoded: map[string]proto.Message{}, held: map[string]string{}}
	}
	var err error
	if cfg.Delta {
		err = c.startDelta(ctx, conn)
	} else {
		err = c.startSotw(ctx, conn)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return c, nil
}

// Close ends the stream and waits for the receive goroutine.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}

// Done is closed when the stream ends; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the error that ended the stream, if any.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Version returns the last ACKed version of a type.
func (c *Client) Version(typeURL string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state[typeURL].acked
}

// Names returns the names of the resources held for a type, sorted (in
// Lean SotW mode, nothing: see Count).
func (c *Client) Names(typeURL string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[typeURL]
	out := make([]string, 0, len(st.resources)+len(st.held))
	for n := range st.resources {
		out = append(out, n)
	}
	for n := range st.held {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Count returns how many resources of a type the client holds.
func (c *Client) Count(typeURL string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[typeURL]
	if c.leanType(typeURL) {
		return st.count
	}
	return len(st.resources)
}

// Resources returns the decoded resources held for a type (Config.Decode,
// or clusters and listeners).
func (c *Client) Resources(typeURL string) map[string]proto.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]proto.Message, len(c.state[typeURL].decoded))
	for k, v := range c.state[typeURL].decoded {
		out[k] = v
	}
	return out
}

// Stats returns responses and bytes received for a type.
func (c *Client) Stats(typeURL string) (responses, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[typeURL]
	return st.responses, st.bytes
}

// Changed returns a channel closed at the next applied response.
func (c *Client) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// WaitFor waits until cond holds (checked after every response) or ctx ends.
func (c *Client) WaitFor(ctx context.Context, cond func(c *Client) bool) error {
	for {
		ch := c.Changed()
		if cond(c) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("adsclient %s: %w", c.cfg.Node.GetId(), ctx.Err())
		case <-c.done:
			return fmt.Errorf("adsclient %s: stream ended: %v", c.cfg.Node.GetId(), c.err)
		case <-ch:
		}
	}
}

// dependents computes the EDS or RDS names that clusters or listeners
// name; callers hold mu.
func (c *Client) dependents(typeURL string) (string, []string) {
	st := c.state[typeURL]
	var names []string
	switch {
	case c.cfg.Lean && typeURL == ClusterType:
		if c.cfg.Delta {
			for _, n := range st.held {
				if n != "" {
					names = append(names, n)
				}
			}
			slices.Sort(names)
			names = slices.Compact(names)
		} else {
			names = st.leanDep
		}
		return EndpointType, names
	case typeURL == ClusterType:
		for name, m := range st.decoded {
			cl := m.(*clusterv3.Cluster)
			if cl.GetType() != clusterv3.Cluster_EDS {
				continue
			}
			n := cl.GetEdsClusterConfig().GetServiceName()
			if n == "" {
				n = name
			}
			names = append(names, n)
		}
		slices.Sort(names)
		return EndpointType, slices.Compact(names)
	case typeURL == ListenerType:
		for _, m := range st.decoded {
			for _, h := range envoyrefs.ListenerHCMs(m.(*listenerv3.Listener)) {
				if rds := h.GetRds(); rds != nil {
					names = append(names, rds.GetRouteConfigName())
				}
			}
		}
		slices.Sort(names)
		return RouteType, slices.Compact(names)
	}
	return "", nil
}

func (c *Client) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}
