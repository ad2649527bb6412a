package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/pkg/adsclient"
	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/kube"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/pkg/webhook"
	"github.com/serin-dev/serin/snapshot"
)

// TestKubernetes runs serin against a real kube-apiserver and etcd. The
// subtests share one API server (starting one takes seconds) and each
// works in its own namespace; the API server restart runs last.
func TestKubernetes(t *testing.T) {
	k := startKubeEnv(t)
	t.Run("ServeBinary", func(t *testing.T) { testKubeServeBinary(t, k) })
	t.Run("SplitFollowsGroup", func(t *testing.T) { testKubeSplit(t, k) })
	t.Run("EndpointDiscovery", func(t *testing.T) { testKubeEndpoints(t, k) })
	t.Run("WebhookRejects", func(t *testing.T) { testKubeWebhook(t, k) })
	t.Run("StatusWhenWebhookOff", func(t *testing.T) { testKubeStatus(t, k) })
	t.Run("CanaryStatusPersists", func(t *testing.T) { testKubeCanaryStatus(t, k) })
	t.Run("LeaderFailover", func(t *testing.T) { testKubeLeader(t, k) })
	t.Run("ManifestsApply", func(t *testing.T) { testKubeManifests(t, k) })
	t.Run("CertificatesKept", func(t *testing.T) { testKubeCerts(t, k) })
	t.Run("CanaryReleasesPersist", func(t *testing.T) { testKubeReleases(t, k) })
	t.Run("APIServerRestart", func(t *testing.T) { testKubeRestart(t, k) })
}

// testKubeServeBinary runs the real `serin serve --kube` with leader
// election against the API server: the canary example's CRs reach a
// grpc-go xDS client as 90/10, a patch moves the split, and the leader
// writes each object's status.
func testKubeServeBinary(t *testing.T, k *kubeEnv) {
	ns := k.namespace(t, "binary")
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	k.applyExample(t, ns, v1, v2)
	kubeconfig := k.kubeconfig(t)
	s := startSerin(t, t.TempDir(), "--kube", "--kubeconfig", kubeconfig, "--namespaces", ns,
		"--leader-elect", "--leader-election-namespace", ns)

	res := runClient(t, s, "default", "xds:///myapp", 4000)
	assertBinomial(t, "v2 at 90/10 from CRs", res.Totals["v2"], 4000, 0.10)

	ctx := context.Background()
	waitFor(t, 20*time.Second, "the leader to write the group's status", func() bool {
		g, err := k.serin.SerinV1alpha1().UpstreamGroups(ns).Get(ctx, "myapp-upstream-group", metav1.GetOptions{})
		return err == nil && g.Status.State == v1alpha1.StateAccepted && g.Status.ObservedGeneration == g.Generation
	})
	setWeights(t, k, ns, 50, 50)
	waitFor(t, 10*time.Second, "the patch to reach serin", func() bool {
		return s.resources(t)["UpstreamGroup "+ns+"/myapp-upstream-group"].State == "Accepted"
	})
	waitFor(t, 20*time.Second, "the split to follow the patch", func() bool {
		r := runClient(t, s, "default", "xds:///myapp", 400)
		return r.Totals["v2"] > 120
	})
	res = runClient(t, s, "default", "xds:///myapp", 4000)
	assertBinomial(t, "v2 at 50/50 after the patch", res.Totals["v2"], 4000, 0.50)
}

// kubeconfig writes a kubeconfig of an admin user for processes (the
// serin binary, its CLI).
func (k *kubeEnv) kubeconfig(t *testing.T) string {
	t.Helper()
	user, err := k.env.AddUser(envtest.User{Name: "serin-e2e", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// setWeights rewrites the example group's weights, as `kubectl edit` would.
func setWeights(t *testing.T, k *kubeEnv, ns string, v1, v2 int64) {
	t.Helper()
	ctx := context.Background()
	c := k.serin.SerinV1alpha1().UpstreamGroups(ns)
	g, err := c.Get(ctx, "myapp-upstream-group", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.Spec.Destinations[0].Weight, g.Spec.Destinations[1].Weight = v1, v2
	if _, err := c.Update(ctx, g, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func testKubeSplit(t *testing.T, k *kubeEnv) {
	ns := k.namespace(t, "split")
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	k.applyExample(t, ns, v1, v2)
	r := startReplica(t, k, replicaOptions{namespaces: []string{ns}})

	res := runClient(t, r.serin, "default", "xds:///myapp", 4000)
	if res.AllCalls != 4000 || countErrors(res.Totals) != 0 {
		t.Fatalf("want 4000 successful calls, got %+v", res)
	}
	assertBinomial(t, "v2 at 90/10", res.Totals["v2"], 4000, 0.10)

	live := startLiveClient(t, r.serin, "default", "xds:///myapp", 400)
	waitFor(t, 20*time.Second, "live client traffic", func() bool {
		_, n := live.collect(t, 300*time.Millisecond)
		return n > 0
	})
	routeVersion := r.cache.Snapshot("default").Version(snapshot.KindRoute)
	setWeights(t, k, ns, 50, 50)
	patched := time.Now()
	waitFor(t, 5*time.Second, "new route version", func() bool {
		return r.cache.Snapshot("default").Version(snapshot.KindRoute) != routeVersion
	})
	t.Logf("group patch -> new RDS snapshot in %v", time.Since(patched).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "split to follow 50/50", func() bool {
		w, n := live.collect(t, 250*time.Millisecond)
		return n >= 50 && float64(w["v2"])/float64(n) > 0.35
	})
	t.Logf("split followed the patch within %v", time.Since(patched).Round(10*time.Millisecond))
	res = runClient(t, r.serin, "default", "xds:///myapp", 4000)
	assertBinomial(t, "v2 at 50/50", res.Totals["v2"], 4000, 0.50)
}

func endpointSlice(ns, name string, port int, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "myapp-v2"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for i, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			Zone:       ptr.To(fmt.Sprintf("zone-%d", i)),
		})
	}
	return s
}

// Pod addresses for the endpoint-discovery test. The API server refuses
// loopback addresses in EndpointSlices, so these come from TEST-NET-1
// (RFC 5737): they are only ever written into EDS, never dialed.
const podA, podB = "192.0.2.10", "192.0.2.11"

func testKubeEndpoints(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
	ns := k.namespace(t, "endpoints")
	const port = 8080
	k.applyExample(t, ns, 9001, 9002)
	// myapp-v2 becomes a kube upstream: Service port 80, named grpc.
	u, err := k.serin.SerinV1alpha1().Upstreams(ns).Get(ctx, "myapp-v2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Spec.Static = nil
	u.Spec.Kube = &v1alpha1.KubeUpstream{ServiceName: "myapp-v2", ServicePort: 80}
	if _, err := k.serin.SerinV1alpha1().Upstreams(ns).Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "myapp-v2"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 80}}},
	}
	slices := k.kube.DiscoveryV1().EndpointSlices(ns)
	if _, err := k.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := slices.Create(ctx, endpointSlice(ns, "myapp-v2-a", port, podA), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, k, replicaOptions{namespaces: []string{ns}})
	key := ident.Key{Namespace: ns, Name: "myapp-v2"}
	eps, ok := r.store.Read().UpstreamEndpoints(key)
	if !ok || len(eps) != 1 || eps[0] != (store.EndpointAddr{Address: podA, Port: port, Zone: "zone-0"}) {
		t.Fatalf("store endpoints of %s: %+v %v", key, eps, ok)
	}
	// An Envoy-like client sees the endpoints arrive over EDS, with the
	// EndpointSlice's zone as locality.
	c := adsConnect(t, r.serin, adsclient.Config{Node: envoyNode("envoy-kube", "default"), Decode: true})
	cluster := "myapp-v2_" + ns
	clientEndpoints := func(c *adsclient.Client) []string {
		m, ok := c.Resources(adsclient.EndpointType)[cluster]
		if !ok {
			return nil
		}
		var out []string
		for _, loc := range m.(*endpointv3.ClusterLoadAssignment).GetEndpoints() {
			for _, lb := range loc.GetLbEndpoints() {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				out = append(out, fmt.Sprintf("%s:%d@%s", sa.GetAddress(), sa.GetPortValue(), loc.GetLocality().GetZone()))
			}
		}
		sort.Strings(out)
		return out
	}
	want := func(eps ...string) func(*adsclient.Client) bool {
		return func(c *adsclient.Client) bool { return strings.Join(clientEndpoints(c), ",") == strings.Join(eps, ",") }
	}
	waitClient(t, c, "one endpoint over EDS", want(fmt.Sprintf("%s:%d@zone-0", podA, port)))
	waitClient(t, c, "a complete configuration", complete)

	// Scale up: a second slice with a second ready endpoint. Only EDS changes.
	before := map[string]int{}
	for _, typ := range adsclient.Types {
		before[typ], _ = c.Stats(typ)
	}
	snap := r.cache.Snapshot("default")
	versions := map[snapshot.Kind]string{}
	for kind := snapshot.Kind(0); kind < snapshot.NumKinds; kind++ {
		versions[kind] = snap.Version(kind)
	}
	if _, err := slices.Create(ctx, endpointSlice(ns, "myapp-v2-b", port, podB), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scaled := time.Now()
	waitClient(t, c, "two endpoints over EDS", want(fmt.Sprintf("%s:%d@zone-0", podA, port), fmt.Sprintf("%s:%d@zone-0", podB, port)))
	took := time.Since(scaled)
	t.Logf("EndpointSlice created -> client holds the new EDS in %v", took.Round(time.Millisecond))
	if took > 100*time.Millisecond {
		t.Errorf("endpoint change took %v to reach the client, want under 100ms", took)
	}
	snap = r.cache.Snapshot("default")
	for kind, v := range versions {
		changed := snap.Version(kind) != v
		if changed != (kind == snapshot.KindEndpoint) {
			t.Errorf("%s version changed=%v after an endpoint-only change", kind, changed)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, typ := range adsclient.Types {
		n, _ := c.Stats(typ)
		if typ != adsclient.EndpointType && n != before[typ] {
			t.Errorf("%s: %d responses after an endpoint-only change, want none", typ, n-before[typ])
		}
	}
	// Scale down to the second endpoint only.
	if err := slices.Delete(ctx, "myapp-v2-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClient(t, c, "one endpoint over EDS after scaling down", want(fmt.Sprintf("%s:%d@zone-0", podB, port)))
}

// badVirtualService has a domain that Validate rejects but the CRD schema allows.
func badVirtualService(ns string) *v1alpha1.VirtualService {
	return &v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"},
		Spec: v1alpha1.VirtualServiceSpec{VirtualHost: v1alpha1.VirtualHost{
			Domains: []string{"my*app"},
			Routes: []v1alpha1.Route{{
				Matchers:    []v1alpha1.Matcher{{Prefix: "/"}},
				RouteAction: &v1alpha1.RouteAction{Single: &v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "myapp-v1"}}},
			}},
		}},
	}
}

const badDomainMessage = `: spec.virtualHost.domains[0]: Invalid value: "my*app": a wildcard must be the whole domain or its first or last character`

func testKubeWebhook(t *testing.T, k *kubeEnv) {
	ns := k.namespace(t, "webhook")
	k.applyExample(t, ns, 9001, 9002)
	r := startReplica(t, k, replicaOptions{namespaces: []string{ns}})
	k.webhook.Store(webhook.NewHandler(r.store))
	defer k.webhook.Store(nil)

	_, err := k.serin.SerinV1alpha1().VirtualServices(ns).Create(context.Background(), badVirtualService(ns), metav1.CreateOptions{})
	if err == nil {
		t.Fatal("the webhook let an invalid VirtualService in")
	}
	want := "VirtualService " + ns + "/bad" + badDomainMessage
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("rejection %q\nshould contain lint's line %q", err, want)
	}
	// The same object in a file: `serin lint` prints the same line.
	dir := t.TempDir()
	body, _ := yaml.Marshal(badVirtualService(ns))
	body = append([]byte("apiVersion: serin.dev/v1alpha1\nkind: VirtualService\n"), body...)
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(serinBin, "lint", dir).CombinedOutput()
	var lintLine string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "VirtualService "+ns+"/bad: "); i >= 0 {
			lintLine = l[i:]
		}
	}
	if lintLine == "" || !strings.Contains(err.Error(), lintLine) {
		t.Fatalf("serin lint printed %q; the webhook said %q", out, err)
	}
	t.Logf("rejected: %v", err)
	// A valid change still goes through.
	setWeights(t, k, ns, 70, 30)
}

func testKubeStatus(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
	ns := k.namespace(t, "status")
	k.applyExample(t, ns, 9001, 9002)
	r := startReplica(t, k, replicaOptions{namespaces: []string{ns}, writeStatus: true})
	c := k.serin.SerinV1alpha1()
	waitFor(t, 10*time.Second, "group status Accepted", func() bool {
		g, err := c.UpstreamGroups(ns).Get(ctx, "myapp-upstream-group", metav1.GetOptions{})
		return err == nil && g.Status.State == v1alpha1.StateAccepted && g.Status.ObservedGeneration == g.Generation
	})
	// The webhook is off: the object gets in, and its status says why it
	// is not served.
	if _, err := c.VirtualServices(ns).Create(ctx, badVirtualService(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "bad VirtualService in the store", func() bool {
		_, ok := r.store.Read().VirtualService(ident.Key{Namespace: ns, Name: "bad"})
		return ok
	})
	gen := r.store.Generation()
	var vs *v1alpha1.VirtualService
	waitFor(t, 10*time.Second, "status Rejected", func() bool {
		var err error
		vs, err = c.VirtualServices(ns).Get(ctx, "bad", metav1.GetOptions{})
		return err == nil && vs.Status.State == v1alpha1.StateRejected
	})
	if !strings.Contains(vs.Status.Reason, "spec.virtualHost.domains[0]") || vs.Status.ObservedGeneration != vs.Generation {
		t.Fatalf("status %+v", vs.Status)
	}
	t.Logf("status: %s: %s", vs.Status.State, vs.Status.Reason)
	// Status writes come back through the informers; they must not change
	// the store (and so never cause a translation).
	time.Sleep(time.Second)
	if g := r.store.Generation(); g != gen {
		t.Fatalf("status writes changed the store: generation %d -> %d", gen, g)
	}
}

func testKubeCanaryStatus(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
	ns := k.namespace(t, "canary")
	k.applyExample(t, ns, 9001, 9002)
	cn := &v1alpha1.Canary{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "myapp"},
		Spec: v1alpha1.CanarySpec{
			UpstreamGroup: v1alpha1.ResourceRef{Name: "myapp-upstream-group"},
			Stable:        v1alpha1.ResourceRef{Name: "myapp-v1"},
			Canary:        v1alpha1.ResourceRef{Name: "myapp-v2"},
			Steps:         []v1alpha1.CanaryStep{{Weight: 10}, {Weight: 50}, {Weight: 100}},
		},
	}
	created, err := k.serin.SerinV1alpha1().Canaries(ns).Create(ctx, cn, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kube.NewCanaryStatus(k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := ident.Key{Namespace: ns, Name: "myapp"}
	if st, err := cs.Load(ctx, key); err != nil || st != nil {
		t.Fatalf("fresh canary: %+v %v", st, err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	want := &v1alpha1.CanaryStatus{
		Phase: v1alpha1.PhaseProgressing, Release: ns + "/myapp-v2", Step: 1, Weight: 50, StepStartTime: &now, FailedChecks: 1,
		History: []v1alpha1.CanaryDecision{{Time: now, Step: 0, Weight: 10, Verdict: "pass", Reason: "error rate 0.1% <= 1%", CanaryRequests: 1000}},
	}
	if err := cs.Save(ctx, key, want); err != nil {
		t.Fatal(err)
	}
	// A new leader loads what the old one saved.
	other, _ := kube.NewCanaryStatus(k.cfg)
	got, err := other.Load(ctx, key)
	if err != nil || got == nil || got.Phase != want.Phase || got.Step != 1 || got.Weight != 50 || got.FailedChecks != 1 || len(got.History) != 1 || !got.StepStartTime.Equal(&now) {
		t.Fatalf("loaded %+v %v", got, err)
	}
	// Fields reset to zero are reset in the API too (an update, not a merge).
	want.FailedChecks = 0
	if err := cs.Save(ctx, key, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := cs.Load(ctx, key); got.FailedChecks != 0 {
		t.Fatalf("failedChecks not reset: %d", got.FailedChecks)
	}
	after, _ := k.serin.SerinV1alpha1().Canaries(ns).Get(ctx, "myapp", metav1.GetOptions{})
	if after.Generation != created.Generation {
		t.Fatalf("status saves changed the generation: %d -> %d", created.Generation, after.Generation)
	}
}

// proxy forwards TCP to the API server until cut, to make a replica lose
// the API server the way a crashed or partitioned pod does (no lease release).
type proxy struct {
	lis   net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{lis: lis}
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				t.Logf("proxy: %v", err)
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { defer c.Close(); defer u.Close(); copyConn(u, c) }()
			go func() { defer c.Close(); defer u.Close(); copyConn(c, u) }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) cut() {
	p.lis.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func testKubeLeader(t *testing.T, k *kubeEnv) {
	ns := k.namespace(t, "leader")
	const lease = 3 * time.Second
	u, err := url.Parse(k.cfg.Host)
	if err != nil || u.Host == "" {
		t.Fatalf("API server address %q: %v", k.cfg.Host, err)
	}
	p := newProxy(t, u.Host)
	cfgA := rest.CopyConfig(k.cfg)
	cfgA.Host = "https://" + p.lis.Addr().String()
	cfgA.TLSClientConfig.ServerName = "127.0.0.1"
	cfgA.Timeout = time.Second

	type member struct {
		e      *kube.Elector
		cancel context.CancelFunc
	}
	start := func(name string, cfg *rest.Config) member {
		e, err := kube.NewElector(kube.ElectorConfig{
			RESTConfig: cfg, Namespace: ns, Identity: name,
			LeaseDuration: lease, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return member{e, cancel}
	}
	a := start("replica-a", cfgA)
	waitFor(t, 10*time.Second, "replica-a leads", a.e.IsLeader)
	b := start("replica-b", k.cfg)
	// B must not take over while A renews.
	time.Sleep(lease + time.Second)
	if !a.e.IsLeader() || b.e.IsLeader() {
		t.Fatalf("leaders: a=%v b=%v, want only a", a.e.IsLeader(), b.e.IsLeader())
	}
	// A loses the API server (as a crashed pod would: no release).
	p.cut()
	cut := time.Now()
	waitFor(t, 3*lease, "replica-b takes over", b.e.IsLeader)
	took := time.Since(cut)
	t.Logf("failover after the leader vanished: %v (lease %v)", took.Round(10*time.Millisecond), lease)
	if took > lease+time.Second {
		t.Errorf("failover took %v, want within the lease duration (%v) plus a retry", took, lease)
	}
	waitFor(t, 5*time.Second, "replica-a steps down", func() bool { return !a.e.IsLeader() })

	// A graceful stop releases the lease: the standby takes over at once.
	c := start("replica-c", k.cfg)
	b.cancel()
	stopped := time.Now()
	waitFor(t, 2*lease, "replica-c takes over", c.e.IsLeader)
	t.Logf("failover after a graceful stop: %v", time.Since(stopped).Round(10*time.Millisecond))
}

func testKubeRestart(t *testing.T, k *kubeEnv) {
	ns := k.namespace(t, "restart")
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	k.applyExample(t, ns, v1, v2)
	r := startReplica(t, k, replicaOptions{namespaces: []string{ns}})
	live := startLiveClient(t, r.serin, "default", "xds:///myapp", 200)
	waitFor(t, 20*time.Second, "live client traffic", func() bool {
		_, n := live.collect(t, 300*time.Millisecond)
		return n > 0
	})

	// A stop that outlasts StopTimeout ends in SIGKILL, like a crash.
	if err := k.env.ControlPlane.APIServer.Stop(); err != nil {
		t.Logf("kube-apiserver stop: %v", err)
	}
	t.Log("kube-apiserver stopped")
	// serin keeps serving the last snapshot.
	live.drain()
	w, n := live.collect(t, 3*time.Second)
	if n < 100 || w["error:"] > 0 {
		t.Fatalf("while the API server is down: %d calls, %v", n, w)
	}
	if err := k.env.ControlPlane.APIServer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Log("kube-apiserver started again")
	// The informers re-list and re-watch; a change made now arrives.
	waitFor(t, 30*time.Second, "API server back", func() bool {
		_, err := k.serin.SerinV1alpha1().UpstreamGroups(ns).Get(context.Background(), "myapp-upstream-group", metav1.GetOptions{})
		return err == nil
	})
	setWeights(t, k, ns, 0, 100)
	waitFor(t, 30*time.Second, "split to follow 0/100 after the restart", func() bool {
		w, n := live.collect(t, 250*time.Millisecond)
		return n >= 20 && w["v1"] == 0 && w["v2"] == n
	})
}
