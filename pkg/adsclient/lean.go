package adsclient

import (
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"
)

// leanType says whether Lean mode applies to a type: listeners are few
// (one per gateway for a wildcard client) and their route names sit deep
// in the filter chains, so they are always decoded.
func (c *Client) leanType(typeURL string) bool {
	return c.cfg.Lean && typeURL != ListenerType
}

// leanSotw applies a SotW response in Lean mode: the count, and for
// clusters the EDS names they need. Callers hold mu.
func (c *Client) leanSotw(st *typeState, typeURL string, anys []*anypb.Any) error {
	var deps []string
	for _, a := range anys {
		if a.GetTypeUrl() != typeURL {
			return fmt.Errorf("resource of type %q in a %q response", a.GetTypeUrl(), typeURL)
		}
		if typeURL != ClusterType {
			continue
		}
		name, eds, err := clusterWire(a.GetValue())
		if err != nil {
			return err
		}
		if eds != "" {
			deps = append(deps, intern(eds))
		} else if name == "" {
			return fmt.Errorf("%s without a name", typeURL)
		}
	}
	if typeURL == ClusterType {
		slices.Sort(deps)
		st.leanDep = slices.Compact(deps)
	}
	st.count = len(anys)
	return nil
}

// leanDelta applies the added or changed resources of a delta response in
// Lean mode. Callers hold mu.
func (c *Client) leanDelta(st *typeState, typeURL, name string, a *anypb.Any) error {
	if a.GetTypeUrl() != typeURL {
		return fmt.Errorf("resource of type %q in a %q response", a.GetTypeUrl(), typeURL)
	}
	dep := ""
	if typeURL == ClusterType {
		n, eds, err := clusterWire(a.GetValue())
		if err != nil {
			return err
		}
		if n != name {
			return fmt.Errorf("resource named %q carries %q", name, n)
		}
		dep = intern(eds)
	}
	st.held[intern(name)] = dep
	st.count = len(st.held)
	return nil
}

// clusterWire reads a Cluster's name (field 1) and, for an EDS cluster
// (type, field 2, = 3), its EDS service name (eds_cluster_config, field 3,
// service_name, field 2; the cluster name when empty) straight off the
// wire.
func clusterWire(b []byte) (name, eds string, err error) {
	const edsType = 3
	isEDS := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", fmt.Errorf("cluster: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", fmt.Errorf("cluster name: %w", protowire.ParseError(n))
			}
			name, b = string(v), b[n:]
			continue
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return "", "", fmt.Errorf("cluster type: %w", protowire.ParseError(n))
			}
			isEDS, b = v == edsType, b[n:]
			continue
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", fmt.Errorf("eds_cluster_config: %w", protowire.ParseError(n))
			}
			if eds, err = fieldString(v, 2); err != nil {
				return "", "", err
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", fmt.Errorf("cluster: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	if !isEDS {
		return name, "", nil
	}
	if eds == "" {
		eds = name
	}
	return name, eds, nil
}

// fieldString returns string field num of a serialized message.
func fieldString(b []byte, num protowire.Number) (string, error) {
	for len(b) > 0 {
		n0, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", protowire.ParseError(n)
		}
		b = b[n:]
		if n0 == num && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", protowire.ParseError(n)
			}
			return string(v), nil
		}
		n = protowire.ConsumeFieldValue(n0, typ, b)
		if n < 0 {
			return "", protowire.ParseError(n)
		}
		b = b[n:]
	}
	return "", nil
}

// interned names are shared by every Lean client in the process: a
// thousand clients of one fleet hold one copy of each cluster name.
var interned sync.Map

func intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := interned.Load(s); ok {
		return v.(string)
	}
	v, _ := interned.LoadOrStore(s, s)
	return v.(string)
}
