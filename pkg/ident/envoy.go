package ident

import "strings"

// Envoy resource names built from object keys.
//
// Object names and namespaces are DNS-1123 labels or subdomains, which
// cannot contain "_", so "<name>_<namespace>" never collides and parses back
// unambiguously at the first "_".

// DefaultFleet serves every node whose node.cluster names no Gateway's fleet.
const DefaultFleet = "default"

// envoyName is "<name>_<namespace>".
func envoyName(k Key) string { return k.Name + "_" + k.Namespace }

// ClusterName is the Envoy cluster (and ClusterLoadAssignment) of an
// Upstream: "<name>_<namespace>". Load reports name it.
func ClusterName(upstream Key) string { return envoyName(upstream) }

// ParseClusterName returns the Upstream a cluster name was built from.
func ParseClusterName(s string) (Key, bool) {
	name, ns, ok := strings.Cut(s, "_")
	if !ok || name == "" || ns == "" {
		return Key{}, false
	}
	return Key{Namespace: ns, Name: name}, true
}

// ListenerName is the socket listener of a Gateway, and the name of the
// RouteConfiguration it takes over RDS.
func ListenerName(gateway Key) string { return envoyName(gateway) }

// VirtualHostName is the virtual host of a VirtualService.
func VirtualHostName(vs Key) string { return envoyName(vs) }

// APIListenerName is the API listener (and its RouteConfiguration) for a
// domain: a proxyless gRPC client dialing xds:///<domain> asks for exactly
// this name.
func APIListenerName(domain string) string { return domain }
