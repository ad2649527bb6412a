package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/ident"
)

// CanaryStatusStore persists the canary engine's state for one Canary, so
// that a new leader resumes a rollout where the old one left it. The
// engine Loads at leader start and Saves after every decision.
type CanaryStatusStore interface {
	// Load returns the persisted status, or nil when the Canary does not
	// exist or has never been written.
	Load(ctx context.Context, canary ident.Key) (*v1alpha1.CanaryStatus, error)
	// Save replaces the persisted status.
	Save(ctx context.Context, canary ident.Key, status *v1alpha1.CanaryStatus) error
}

// CanaryStatus keeps canary state in the Canary's status subresource.
type CanaryStatus struct {
	client serinclient.Interface
}

var _ CanaryStatusStore = (*CanaryStatus)(nil)

// NewCanaryStatus returns a CanaryStatusStore over the API server.
func NewCanaryStatus(cfg *rest.Config) (*CanaryStatus, error) {
	sc, err := serinclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: serin client: %w", err)
	}
	return &CanaryStatus{client: sc}, nil
}

// Load reads the status from the API server itself, not a cache: a leader
// that just took over must see its predecessor's last write.
func (c *CanaryStatus) Load(ctx context.Context, key ident.Key) (*v1alpha1.CanaryStatus, error) {
	cn, err := c.client.SerinV1alpha1().Canaries(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kube: load canary %s: %w", key, err)
	}
	if cn.Status.Phase == "" && len(cn.Status.History) == 0 {
		return nil, nil
	}
	return cn.Status.DeepCopy(), nil
}

// Save replaces the whole status (an update, not a merge, so that fields
// the engine reset to zero are reset in the API too), retrying on conflicts
// with writers of the spec.
func (c *CanaryStatus) Save(ctx context.Context, key ident.Key, status *v1alpha1.CanaryStatus) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cli := c.client.SerinV1alpha1().Canaries(key.Namespace)
		cn, err := cli.Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cn.Status = *status.DeepCopy()
		_, err = cli.UpdateStatus(ctx, cn, metav1.UpdateOptions{FieldManager: "serin-canary"})
		return err
	})
	if err != nil {
		return fmt.Errorf("kube: save canary %s status: %w", key, err)
	}
	return nil
}
