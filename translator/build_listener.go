package translator

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

const (
	hcmType    = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	routerType = "envoy.extensions.filters.http.router.v3.Router"
)

// routerFilter is the terminal HTTP filter.
var routerFilter = toAny(routerType, &routerv3.Router{})

// buildHCM makes an HTTP connection manager taking its routes over RDS
// (ADS) from the RouteConfiguration named routeName.
func buildHCM(statPrefix, routeName string) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix: statPrefix,
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: routeName,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: routerFilter},
		}},
	}
}

// buildListener makes a Gateway's socket listener; its RouteConfiguration
// has the listener's name. "::" also accepts IPv4 (ipv4_compat).
func buildListener(l *Listener) *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:    l.Name,
		Address: socketAddress(l.Address, l.Port, l.Address == "::"),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcmAny(l.Name, l.Name)},
			}},
		}},
	}
}

// buildAPIListener makes the listener a proxyless gRPC client gets when it
// dials xds:///<domain>: an HCM in api_listener, routes over RDS from the
// RouteConfiguration named after the domain.
func buildAPIListener(domain string) *listenerv3.Listener {
	b := &struct {
		l   listenerv3.Listener
		api listenerv3.ApiListener
	}{}
	b.api.ApiListener = hcmAny(domain, domain)
	b.l.Name, b.l.ApiListener = domain, &b.api
	return &b.l
}
