package xds

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
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
