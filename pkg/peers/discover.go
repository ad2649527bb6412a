package peers

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// AdminPortName is the name of the admin port on serin's Service (the
// chart's http-admin).
const AdminPortName = "http-admin"

// Static returns a fixed list of base URLs (--peers). Each must be an
// http(s) URL with a host; a trailing slash is dropped.
func Static(urls []string) (Discover, error) {
	var out []string
	for _, raw := range urls {
		raw = strings.TrimRight(strings.TrimSpace(raw), "/")
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("peer %q: want a base URL such as http://10.0.0.5:19000", raw)
		}
		out = append(out, raw)
	}
	return func(context.Context) ([]string, error) { return out, nil }, nil
}

// EndpointSlices lists, at every call, the ready endpoints of a Service's
// EndpointSlices (--peers-service) and returns http://address:port for the
// port named portName. One list per poll of a handful of objects in one
// namespace is cheaper than keeping an informer for them.
func EndpointSlices(client kubernetes.Interface, namespace, service, portName string) Discover {
	sel := discoveryv1.LabelServiceName + "=" + service
	return func(ctx context.Context) ([]string, error) {
		list, err := client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", namespace, service, err)
		}
		var out []string
		for i := range list.Items {
			s := &list.Items[i]
			port, ok := namedPort(s, portName)
			if !ok {
				continue
			}
			for _, ep := range s.Endpoints {
				// Ready is nil when unknown, which means ready.
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, a := range ep.Addresses {
					out = append(out, "http://"+net.JoinHostPort(a, strconv.Itoa(int(port))))
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
}

func namedPort(s *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		if p.Name != nil && *p.Name == name && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}
