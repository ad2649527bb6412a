// Package kube feeds serin's store from the Kubernetes API: shared informers
// for the five serin kinds, Services, EndpointSlices and Pod metadata;
// endpoint discovery for kube Upstreams; a status writer that reports each
// object's state into its status subresource; Canary status persistence;
// and leader election on a Lease.
package kube

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// SourceName is the store source that owns objects read from Kubernetes.
const SourceName = "kube"

// RESTConfig returns the client configuration for kubeconfigPath, or the
// in-cluster configuration (the pod's service account) when it is empty.
// With an empty path outside a cluster it falls back to the usual kubeconfig
// rules ($KUBECONFIG, ~/.kube/config), as kubectl does.
func RESTConfig(kubeconfigPath string) (*rest.Config, error) {
	if kubeconfigPath == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return tune(cfg), nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfigPath
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if kubeconfigPath == "" {
			return nil, fmt.Errorf("kube: not in a cluster and no kubeconfig found: %w", err)
		}
		return nil, fmt.Errorf("kube: load kubeconfig %s: %w", kubeconfigPath, err)
	}
	return tune(cfg), nil
}

// tune raises client-go's default rate limit (5 QPS, burst 10). Informers
// list once and then watch, so QPS matters only for status writes, which
// have their own limiter; the client limit is a backstop.
func tune(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = 50
	}
	if cfg.Burst == 0 {
		cfg.Burst = 100
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "serin"
	}
	return cfg
}
