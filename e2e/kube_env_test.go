package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/source/kube"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/pkg/webhook"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
	"github.com/serin-dev/serin/xds"
)

// kubeEnv is a real kube-apiserver and etcd (controller-runtime's envtest)
// with serin's CRDs and validating webhook installed.
type kubeEnv struct {
	env   *envtest.Environment
	cfg   *rest.Config
	serin serinclient.Interface
	kube  kubernetes.Interface
	// webhook is the handler the API server's webhook calls reach; nil
	// allows everything (the webhook "off").
	webhook atomic.Pointer[webhook.Handler]
}

// envtestAssets returns KUBEBUILDER_ASSETS, building the binaries with
// hack/envtest-binaries.sh when it is unset (cached after the first run).
func envtestAssets(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	t.Log("KUBEBUILDER_ASSETS unset: running hack/envtest-binaries.sh (the first run builds kube-apiserver and etcd, several minutes)")
	out, err := exec.Command("../hack/envtest-binaries.sh").Output()
	if err != nil {
		t.Fatalf("hack/envtest-binaries.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func startKubeEnv(t testing.TB) *kubeEnv {
	t.Helper()
	k := &kubeEnv{}
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	k.env = &envtest.Environment{
		// A fixed certificate directory keeps the serving certificate across
		// an API server restart (a random one is regenerated, and clients
		// would no longer trust the server). StopTimeout bounds a graceful
		// stop: the restart test then kills it, as a crash would.
		ControlPlane:          envtest.ControlPlane{APIServer: &envtest.APIServer{CertDir: t.TempDir(), StopTimeout: 5 * time.Second}},
		CRDDirectoryPaths:     []string{filepath.Join("..", "deploy", "crds")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: envtestAssets(t),
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{{
				ObjectMeta: metav1.ObjectMeta{Name: "serin-e2e"},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{{
					Name:                    "validate.serin.dev",
					AdmissionReviewVersions: []string{"v1"},
					SideEffects:             &none,
					FailurePolicy:           &fail,
					TimeoutSeconds:          ptr.To[int32](5),
					ClientConfig: admissionregistrationv1.WebhookClientConfig{
						Service: &admissionregistrationv1.ServiceReference{Name: "serin", Namespace: "serin-system", Path: ptr.To("validate")},
					},
					Rules: []admissionregistrationv1.RuleWithOperations{{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups: []string{v1alpha1.GroupName}, APIVersions: []string{v1alpha1.Version},
							Resources: []string{"upstreams", "upstreamgroups", "virtualservices", "gateways", "canaries"},
						},
					}},
				}},
			}},
		},
	}
	start := time.Now()
	cfg, err := k.env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := k.env.Stop(); err != nil {
			t.Logf("envtest stop: %v", err)
		}
	})
	t.Logf("kube-apiserver and etcd up in %v", time.Since(start).Round(time.Millisecond))
	k.cfg = cfg
	k.serin = serinclient.NewForConfigOrDie(cfg)
	k.kube = kubernetes.NewForConfigOrDie(cfg)
	k.serveWebhook(t)
	return k
}

// serveWebhook serves the webhook where envtest pointed the API server,
// delegating to k.webhook.
func (k *kubeEnv) serveWebhook(t testing.TB) {
	o := &k.env.WebhookInstallOptions
	kp, err := webhook.NewKeyPair(filepath.Join(o.LocalServingCertDir, "tls.crt"), filepath.Join(o.LocalServingCertDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(o.LocalServingHost, fmt.Sprint(o.LocalServingPort)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wh := k.webhook.Load(); wh != nil {
			wh.ServeHTTP(w, r)
			return
		}
		allow(w, r)
	})
	go webhook.ServeListener(ctx, lis, kp, h)
}

// allow answers an AdmissionReview with "allowed": the webhook "off".
func allow(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// namespace creates a namespace for one test.
func (k *kubeEnv) namespace(t testing.TB, name string) string {
	t.Helper()
	_, err := k.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// applyExample creates examples/canary's objects in ns, with the backends'
// ports in place of 9001 and 9002.
func (k *kubeEnv) applyExample(t *testing.T, ns string, v1Port, v2Port int) {
	t.Helper()
	dir := canaryDir(t, v1Port, v2Port)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	ctx := context.Background()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(b, &tm); err != nil {
			t.Fatal(err)
		}
		c := k.serin.SerinV1alpha1()
		switch tm.Kind {
		case v1alpha1.KindUpstream:
			var o v1alpha1.Upstream
			mustYAML(t, b, &o)
			_, err = c.Upstreams(ns).Create(ctx, &o, metav1.CreateOptions{})
		case v1alpha1.KindUpstreamGroup:
			var o v1alpha1.UpstreamGroup
			mustYAML(t, b, &o)
			_, err = c.UpstreamGroups(ns).Create(ctx, &o, metav1.CreateOptions{})
		case v1alpha1.KindVirtualService:
			var o v1alpha1.VirtualService
			mustYAML(t, b, &o)
			_, err = c.VirtualServices(ns).Create(ctx, &o, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: unexpected kind %q", f, tm.Kind)
		}
		if err != nil {
			t.Fatalf("create %s: %v", filepath.Base(f), err)
		}
	}
}

func mustYAML(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatal(err)
	}
}

// replica is serin wired in-process the way `serve --kube` wires it: the
// kube source feeds the store, the runner translates into the snapshot
// cache, the xDS server serves it; with leader election, the leader runs
// the status writer.
type replica struct {
	*serin // for runClient: only the xDS address is used
	store  *store.Store
	src    *kube.Source
	cache  *snapshot.Cache
	runner *controlplane.Runner
	xsrv   *xds.Server
	status *kube.StatusWriter
	cancel context.CancelFunc
	done   chan struct{}
}

type replicaOptions struct {
	namespaces []string
	// writeStatus runs the status writer (without leader election).
	writeStatus bool
	restConfig  *rest.Config
}

func startReplica(t testing.TB, k *kubeEnv, o replicaOptions) *replica {
	t.Helper()
	cfg := o.restConfig
	if cfg == nil {
		cfg = k.cfg
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := &replica{store: store.New(), done: make(chan struct{})}
	var err error
	r.src, err = kube.NewSource(kube.Config{RESTConfig: cfg, Namespaces: o.namespaces, Store: r.store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r.cache = snapshot.NewCache(snapshot.WithLogger(log))
	r.runner = controlplane.New(controlplane.Config{Store: r.store, Cache: r.cache, Options: translator.Options{}, Log: log})
	reports := r.runner.Reports()
	r.xsrv, err = xds.New(r.cache, xds.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	reports.SetNacks(r.xsrv.StandingNacks)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.serin = &serin{xds: lis.Addr().String()}
	gs := xds.NewGRPCServer()
	r.xsrv.Register(gs)

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		srcDone := make(chan struct{})
		go func() { defer close(srcDone); _ = r.src.Run(ctx) }()
		// The first snapshot waits for the complete initial state.
		select {
		case <-r.src.Synced():
		case <-ctx.Done():
			<-srcDone
			return
		}
		go r.runner.Run(ctx)
		go gs.Serve(lis)
		if o.writeStatus {
			r.status, _ = kube.NewStatusWriter(kube.StatusConfig{RESTConfig: cfg, Source: r.src, Store: r.store, Reports: reports, Log: log})
			go r.status.Run(ctx)
		}
		<-ctx.Done()
		r.xsrv.Stop()
		gs.Stop()
		r.cache.Close()
		<-srcDone
	}()
	t.Cleanup(r.stop)
	select {
	case <-r.cache.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("replica: no first snapshot within 30s")
	}
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// testWriter sends logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
