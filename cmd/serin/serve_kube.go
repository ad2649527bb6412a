package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/peers"
	"github.com/serin-dev/serin/pkg/source/kube"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/pkg/webhook"
	"github.com/serin-dev/serin/translator"
)

// kubeServeOptions are the flags of `serin serve --kube`.
type kubeServeOptions struct {
	enabled          bool
	kubeconfig       string
	namespaces       string
	leaderElect      bool
	leaderElectionNS string
	leaderElectionID string
	webhookAddr      string
	webhookCert      string
	webhookKey       string
	peersService     string
}

func addKubeFlags(f *pflag.FlagSet, o *kubeServeOptions) {
	f.BoolVar(&o.enabled, "kube", false, "read objects from the Kubernetes API (CRDs, Services, EndpointSlices) instead of --config-dir")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster configuration)")
	f.StringVar(&o.namespaces, "namespaces", "", "comma-separated namespaces to watch (default: all)")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader with a Lease: every replica serves xDS, only the leader writes status and runs canaries")
	f.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the leader-election Lease (required with --leader-elect)")
	f.StringVar(&o.leaderElectionID, "leader-election-id", kube.DefaultLeaseName, "name of the leader-election Lease")
	f.StringVar(&o.webhookAddr, "webhook-addr", "", "serve the validating admission webhook (HTTPS, path /validate) on this address")
	f.StringVar(&o.webhookCert, "webhook-cert", "", "TLS certificate of the webhook (PEM; re-read when it changes)")
	f.StringVar(&o.webhookKey, "webhook-key", "", "TLS key of the webhook (PEM)")
	f.StringVar(&o.peersService, "peers-service", "", "Service (in --leader-election-namespace) whose ready endpoints, port "+peers.AdminPortName+", are the other replicas: the leader adds their clients' load reports to its own")
}

// kubeServe is the Kubernetes side of serve: the informer source, the
// status writer, leader election and the admission webhook.
type kubeServe struct {
	o       kubeServeOptions
	cfg     *rest.Config
	src     *kube.Source
	status  *kube.StatusWriter
	elector *kube.Elector
	log     *slog.Logger
}

func newKubeServe(o kubeServeOptions, st *store.Store, log *slog.Logger) (*kubeServe, error) {
	if o.leaderElect && o.leaderElectionNS == "" {
		return nil, fmt.Errorf("--leader-elect needs --leader-election-namespace")
	}
	if o.peersService != "" && o.leaderElectionNS == "" {
		return nil, fmt.Errorf("--peers-service needs --leader-election-namespace")
	}
	if (o.webhookAddr != "") && (o.webhookCert == "" || o.webhookKey == "") {
		return nil, fmt.Errorf("--webhook-addr needs --webhook-cert and --webhook-key")
	}
	cfg, err := kube.RESTConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	var nss []string
	for _, ns := range strings.Split(o.namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			nss = append(nss, ns)
		}
	}
	src, err := kube.NewSource(kube.Config{RESTConfig: cfg, Namespaces: nss, Store: st, Log: log})
	if err != nil {
		return nil, err
	}
	return &kubeServe{o: o, cfg: cfg, src: src, log: log}, nil
}

// startStatus builds the status writer on the pipeline's reports.
func (k *kubeServe) startStatus(st *store.Store, reports *controlplane.Reports) error {
	w, err := kube.NewStatusWriter(kube.StatusConfig{RESTConfig: k.cfg, Source: k.src, Store: st, Reports: reports, Log: k.log})
	if err != nil {
		return err
	}
	k.status = w
	return nil
}

// canaryStatus persists canary state in the Canary status subresource.
func (k *kubeServe) canaryStatus() (canary.StatusStore, error) {
	return kube.NewCanaryStatus(k.cfg)
}

// releaseLog keeps each Canary's release history in a ConfigMap it owns.
func (k *kubeServe) releaseLog() (canary.ReleaseLog, error) {
	return kube.NewReleaseLog(k.cfg)
}

// isLeader is nil (always leader) without leader election.
func (k *kubeServe) isLeader() func() bool {
	if k.elector == nil {
		return nil
	}
	return k.elector.IsLeader
}

// peerDiscover lists the replicas behind --peers-service; nil without it.
func (k *kubeServe) peerDiscover() (peers.Discover, error) {
	if k.o.peersService == "" {
		return nil, nil
	}
	kc, err := kubernetes.NewForConfig(k.cfg)
	if err != nil {
		return nil, err
	}
	return peers.EndpointSlices(kc, k.o.leaderElectionNS, k.o.peersService, peers.AdminPortName), nil
}

// elect sets up leader election when asked for: the leader writes status
// (and the canary engine acts only while k.isLeader says so).
func (k *kubeServe) elect() error {
	if !k.o.leaderElect {
		return nil
	}
	e, err := kube.NewElector(kube.ElectorConfig{
		RESTConfig: k.cfg,
		Namespace:  k.o.leaderElectionNS,
		Name:       k.o.leaderElectionID,
		OnStartedLeading: func(ctx context.Context) {
			k.log.Info("leading: writing status and running canaries")
			if err := k.status.Run(ctx); err != nil && ctx.Err() == nil {
				k.log.Error("status writer", "err", err)
			}
		},
		OnStoppedLeading: func() { k.log.Info("no longer leading: serving xDS only") },
		Log:              k.log,
	})
	if err != nil {
		return err
	}
	k.elector = e
	return nil
}

// runners returns what runs for the life of the process: leader election
// (or the status writer directly) and the admission webhook.
func (k *kubeServe) runners(st *store.Store, opts translator.Options) map[string]func(ctx context.Context) error {
	out := map[string]func(ctx context.Context) error{}
	if k.elector != nil {
		out["leader-election"] = k.elector.Run
	} else {
		out["status"] = k.status.Run
	}
	if k.o.webhookAddr != "" {
		h := webhook.NewHandler(st, webhook.WithLogger(k.log), webhook.WithTranslatorOptions(opts))
		out["webhook"] = func(ctx context.Context) error {
			return webhook.Serve(ctx, k.o.webhookAddr, k.o.webhookCert, k.o.webhookKey, h)
		}
	}
	return out
}
