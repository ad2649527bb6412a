package kube

import "github.com/serin-dev/serin/pkg/canary"

// The canary engine persists through this implementation in Kubernetes
// mode (tested against a real API server in e2e TestKubernetes/CanaryStatusPersists).
var _ canary.StatusStore = (*CanaryStatus)(nil)
