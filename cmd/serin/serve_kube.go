package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/certgen"
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

	// Certificates kept in Secrets (pkg/certgen).
	certNamespace     string
	caSecret          string
	webhookCertSecret string
	webhookCertHosts  string
	webhookConfig     string
	xdsTLSSecret      string
	xdsTLSHosts       string
	certDir           string
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
	f.StringVar(&o.certNamespace, "cert-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the Secrets serin keeps its certificates in (default $POD_NAMESPACE)")
	f.StringVar(&o.caSecret, "ca-secret", "serin-ca", "Secret holding serin's CA (ca.crt, ca.key); created on first use with --webhook-cert-secret or --xds-tls-secret")
	f.StringVar(&o.webhookCertSecret, "webhook-cert-secret", "", "kubernetes.io/tls Secret with the webhook's serving certificate, issued from the CA and created on first use, then kept (instead of --webhook-cert/--webhook-key)")
	f.StringVar(&o.webhookCertHosts, "webhook-cert-hosts", "", "comma-separated DNS names or IPs the webhook certificate names (e.g. serin.serin-system.svc)")
	f.StringVar(&o.webhookConfig, "webhook-configuration", "", "ValidatingWebhookConfiguration whose caBundle serin keeps equal to its CA")
	f.StringVar(&o.xdsTLSSecret, "xds-tls-secret", "", "kubernetes.io/tls Secret with the xDS server certificate, issued from the CA and created on first use; clients then need a certificate from the same CA (serin certs issue)")
	f.StringVar(&o.xdsTLSHosts, "xds-tls-hosts", "", "comma-separated DNS names or IPs the xDS server certificate names (what clients dial)")
	f.StringVar(&o.certDir, "cert-dir", "", "directory the Secrets' certificates are written to for serving (default: a new temporary directory)")
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
	certs   *kubeCerts
	log     *slog.Logger
}

func newKubeServe(o kubeServeOptions, st *store.Store, log *slog.Logger) (*kubeServe, error) {
	if o.leaderElect && o.leaderElectionNS == "" {
		return nil, fmt.Errorf("--leader-elect needs --leader-election-namespace")
	}
	if o.peersService != "" && o.leaderElectionNS == "" {
		return nil, fmt.Errorf("--peers-service needs --leader-election-namespace")
	}
	if o.webhookAddr != "" && (o.webhookCert == "" || o.webhookKey == "") && o.webhookCertSecret == "" {
		return nil, fmt.Errorf("--webhook-addr needs --webhook-cert and --webhook-key, or --webhook-cert-secret")
	}
	if o.webhookCertSecret != "" && o.webhookCert != "" {
		return nil, fmt.Errorf("--webhook-cert-secret and --webhook-cert: choose one")
	}
	if o.webhookConfig != "" && o.webhookCertSecret == "" {
		// serin's CA would go into the caBundle while the webhook serves
		// a certificate from another: every admission call would fail.
		return nil, fmt.Errorf("--webhook-configuration needs --webhook-cert-secret (serin sets the caBundle to the CA of the certificate it keeps)")
	}
	if (o.webhookCertSecret != "" || o.xdsTLSSecret != "" || o.webhookConfig != "") && o.certNamespace == "" {
		return nil, fmt.Errorf("certificates kept in Secrets need --cert-namespace (or $POD_NAMESPACE)")
	}
	if o.webhookCertSecret != "" && o.webhookCertHosts == "" {
		return nil, fmt.Errorf("--webhook-cert-secret needs --webhook-cert-hosts (the names the API server dials)")
	}
	if o.xdsTLSSecret != "" && o.xdsTLSHosts == "" {
		return nil, fmt.Errorf("--xds-tls-secret needs --xds-tls-hosts (the names xDS clients dial)")
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

// kubeCerts are the certificate files made from Secrets (pkg/certgen),
// for the code that serves TLS from files.
type kubeCerts struct {
	webhookCert, webhookKey string
	xdsCert, xdsKey, xdsCA  string
	caPEM                   []byte
}

// ensureCerts gets (or, the first time, creates) the CA and the webhook
// and xDS certificates in their Secrets, and writes them into dir.
func (k *kubeServe) ensureCerts(ctx context.Context, dir string) (*kubeCerts, error) {
	o := k.o
	if o.webhookCertSecret == "" && o.xdsTLSSecret == "" && o.webhookConfig == "" {
		return &kubeCerts{}, nil
	}
	kc, err := kubernetes.NewForConfig(k.cfg)
	if err != nil {
		return nil, err
	}
	ca, err := certgen.EnsureCA(ctx, kc, o.certNamespace, o.caSecret, "serin-ca."+o.certNamespace)
	if err != nil {
		return nil, err
	}
	out := &kubeCerts{caPEM: ca.CertPEM}
	if o.webhookCertSecret != "" {
		data, err := certgen.EnsureLeaf(ctx, kc, o.certNamespace, o.webhookCertSecret, ca, certgen.Leaf{
			CommonName: "serin-webhook", Hosts: splitList(o.webhookCertHosts), Server: true,
		})
		if err != nil {
			return nil, err
		}
		if out.webhookCert, out.webhookKey, _, err = certgen.WriteFiles(filepath.Join(dir, "webhook"), data); err != nil {
			return nil, err
		}
	}
	if o.xdsTLSSecret != "" {
		data, err := certgen.EnsureLeaf(ctx, kc, o.certNamespace, o.xdsTLSSecret, ca, certgen.Leaf{
			CommonName: "serin-xds", Hosts: splitList(o.xdsTLSHosts), Server: true,
		})
		if err != nil {
			return nil, err
		}
		if out.xdsCert, out.xdsKey, out.xdsCA, err = certgen.WriteFiles(filepath.Join(dir, "xds"), data); err != nil {
			return nil, err
		}
	}
	k.log.Info("certificates from Secrets", "namespace", o.certNamespace, "ca", o.caSecret,
		"webhook", o.webhookCertSecret, "xds", o.xdsTLSSecret)
	return out, nil
}

// useCerts makes the certificates kept in Secrets and points the webhook
// and, unless its files are given, the xDS port at them (the CA becomes
// the xDS client CA: mTLS).
func (k *kubeServe) useCerts(ctx context.Context, x *xdsTLSOptions) error {
	dir := k.o.certDir
	if dir == "" {
		d, err := os.MkdirTemp("", "serin-certs-")
		if err != nil {
			return err
		}
		dir = d
	}
	certs, err := k.ensureCerts(ctx, dir)
	if err != nil {
		return err
	}
	k.certs = certs
	if certs.xdsCert != "" {
		if x.cert != "" {
			return fmt.Errorf("--xds-tls-secret and --xds-tls-cert: choose one")
		}
		x.cert, x.key = certs.xdsCert, certs.xdsKey
		if x.clientCA == "" {
			x.clientCA = certs.xdsCA
		}
	}
	return nil
}

// keepCABundle keeps the webhook configuration's caBundle equal to the
// CA: at start and every interval (the configuration may be created after
// serin starts, or reset by whoever applies manifests).
func (k *kubeServe) keepCABundle(caPEM []byte) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		kc, err := kubernetes.NewForConfig(k.cfg)
		if err != nil {
			return err
		}
		t := time.NewTicker(caBundleInterval)
		defer t.Stop()
		warned := false
		for {
			// The CA as the Secret has it now: a replica started before the
			// CA was renewed must not put the old one back.
			if ca, err := certgen.GetCA(ctx, kc, k.o.certNamespace, k.o.caSecret); err == nil {
				caPEM = ca.CertPEM
			}
			changed, err := certgen.PatchCABundle(ctx, kc, k.o.webhookConfig, caPEM)
			switch {
			case err != nil && !warned:
				k.log.Warn("cannot set the webhook's caBundle yet; retrying", "err", err)
				warned = true
			case err == nil && changed:
				k.log.Info("webhook caBundle set", "configuration", k.o.webhookConfig)
				warned = false
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

// caBundleInterval is how often the webhook's caBundle is checked.
const caBundleInterval = 30 * time.Second

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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
		cert, key := k.o.webhookCert, k.o.webhookKey
		if k.certs != nil && k.certs.webhookCert != "" {
			cert, key = k.certs.webhookCert, k.certs.webhookKey
		}
		out["webhook"] = func(ctx context.Context) error {
			return webhook.Serve(ctx, k.o.webhookAddr, cert, key, h)
		}
	}
	if k.o.webhookConfig != "" && k.certs != nil {
		out["webhook-cabundle"] = k.keepCABundle(k.certs.caPEM)
	}
	return out
}
