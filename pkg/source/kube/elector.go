package kube

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Leader election defaults: client-go's recommended values. A leader that
// dies is replaced within LeaseDuration (plus one RetryPeriod); a leader
// that cannot renew for RenewDeadline steps down before another can take
// over, so two replicas never write status at once.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultLeaseName     = "serin-leader"
)

// ElectorConfig wires an Elector.
type ElectorConfig struct {
	RESTConfig *rest.Config
	// Namespace and Name of the Lease. Namespace is required (the pod's own
	// namespace in a cluster); Name defaults to DefaultLeaseName.
	Namespace string
	Name      string
	// Identity of this replica; defaults to the hostname (the pod name)
	// plus a random suffix.
	Identity string
	// Zero durations mean the Default* constants.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// OnStartedLeading runs in its own goroutine when this replica becomes
	// leader; ctx ends when leadership is lost. Start the status writer and
	// the canary engine here.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading runs when leadership is lost (or on shutdown).
	OnStoppedLeading func()
	// OnNewLeader is told the identity of each new leader.
	OnNewLeader func(identity string)
	Log         *slog.Logger
}

// Elector campaigns for a Lease until its context ends. Every replica
// serves xDS whether it leads or not; only the leader writes.
type Elector struct {
	cfg ElectorConfig
	lec leaderelection.LeaderElectionConfig
	log *slog.Logger

	mu      sync.Mutex
	leading bool
	changed chan struct{}
}

// NewElector validates the configuration and builds the lock.
func NewElector(cfg ElectorConfig) (*Elector, error) {
	if cfg.RESTConfig == nil || cfg.Namespace == "" {
		return nil, fmt.Errorf("kube: leader election needs a REST config and a lease namespace")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultLeaseName
	}
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		cfg.Identity = host + "_" + rand.String(6)
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	kc, err := kubernetes.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kube: core client: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, cfg.Namespace, cfg.Name,
		kc.CoreV1(), kc.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: cfg.Identity})
	if err != nil {
		return nil, fmt.Errorf("kube: lease lock: %w", err)
	}
	e := &Elector{cfg: cfg, log: cfg.Log.With("component", "leader-election", "identity", cfg.Identity), changed: make(chan struct{})}
	e.lec = leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: cfg.LeaseDuration,
		RenewDeadline: cfg.RenewDeadline,
		RetryPeriod:   cfg.RetryPeriod,
		// Give the lease up on shutdown so the next leader need not wait
		// out the lease duration during a rolling update.
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				e.setLeading(true)
				e.log.Info("started leading")
				if cfg.OnStartedLeading != nil {
					cfg.OnStartedLeading(ctx)
				}
			},
			OnStoppedLeading: func() {
				e.setLeading(false)
				e.log.Info("stopped leading")
				if cfg.OnStoppedLeading != nil {
					cfg.OnStoppedLeading()
				}
			},
			OnNewLeader: func(id string) {
				if cfg.OnNewLeader != nil {
					cfg.OnNewLeader(id)
				}
			},
		},
	}
	if _, err := leaderelection.NewLeaderElector(e.lec); err != nil {
		return nil, fmt.Errorf("kube: leader election: %w", err)
	}
	return e, nil
}

// Identity is this replica's name in the Lease.
func (e *Elector) Identity() string { return e.cfg.Identity }

// IsLeader reports whether this replica leads now.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Changed returns a channel closed at the next change of IsLeader.
func (e *Elector) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

func (e *Elector) setLeading(v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leading == v {
		return
	}
	e.leading = v
	close(e.changed)
	e.changed = make(chan struct{})
}

// Run campaigns until ctx ends. A replica that loses the lease (an API
// server outage longer than RenewDeadline) campaigns again.
func (e *Elector) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(e.lec)
		if err != nil {
			return fmt.Errorf("kube: leader election: %w", err)
		}
		le.Run(ctx)
		if ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(e.cfg.RetryPeriod):
			}
		}
	}
	return nil
}
