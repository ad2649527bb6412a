package kube

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/utils/ptr"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinfake "github.com/serin-dev/serin/pkg/client/clientset/versioned/fake"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// fakeSource runs a Source over fake clients until the test ends.
type fakeSource struct {
	*Source
	serin *serinfake.Clientset
	kube  *kubefake.Clientset
	store *store.Store
}

func startFake(t *testing.T, resync time.Duration, serinObjs []runtime.Object, kubeObjs []runtime.Object, pods ...runtime.Object) *fakeSource {
	t.Helper()
	sc := serinfake.NewSimpleClientset(serinObjs...)
	kc := kubefake.NewSimpleClientset(kubeObjs...)
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mc := metadatafake.NewSimpleMetadataClient(scheme, pods...)
	st := store.New()
	src, err := newSource(Config{Store: st, Resync: resync}, sc, kc, mc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := src.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-src.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("source did not sync")
	}
	return &fakeSource{Source: src, serin: sc, kube: kc, store: st}
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func group(name string, gen int64, w1, w2 int64) *v1alpha1.UpstreamGroup {
	return &v1alpha1.UpstreamGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Generation: gen},
		Spec: v1alpha1.UpstreamGroupSpec{Destinations: []v1alpha1.WeightedDestination{
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "v1"}}, Weight: w1},
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "v2"}}, Weight: w2},
		}},
	}
}

func podMeta(ns, name string, lbls map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
	}
}

func TestSourceMapsEventsToStore(t *testing.T) {
	ctx := context.Background()
	up := kubeUpstream(80, map[string]string{"version": "v2"})
	svc := testService("apps", "web", corev1.ServicePort{Name: "http", Port: 80})
	sl := slice("web-1", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		endpoint("10.0.0.1", "a", "web-v1", true), endpoint("10.0.0.2", "b", "web-v2", true))
	sl.Labels = map[string]string{discoveryv1.LabelServiceName: "web"}
	f := startFake(t, 0,
		[]runtime.Object{up, group("g", 1, 90, 10)},
		[]runtime.Object{svc, sl},
		podMeta("apps", "web-v1", map[string]string{"version": "v1"}), podMeta("apps", "web-v2", map[string]string{"version": "v2"}))

	// The initial state arrives in one transaction.
	if g := f.store.Generation(); g != 1 {
		t.Errorf("initial load took %d transactions, want 1", g)
	}
	txn := f.store.Read()
	if src, ok := txn.Source(v1alpha1.KindUpstreamGroup, ident.Key{Namespace: "default", Name: "g"}); !ok || src != SourceName {
		t.Fatalf("group source %q %v", src, ok)
	}
	key := ident.Key{Namespace: "default", Name: "web"}
	eps, ok := txn.UpstreamEndpoints(key)
	if !ok || len(eps) != 1 || eps[0] != (store.EndpointAddr{Address: "10.0.0.2", Port: 8080, Zone: "b"}) {
		t.Fatalf("endpoints %+v %v", eps, ok)
	}
	if u, _ := txn.Upstream(key); u.Kind != v1alpha1.KindUpstream {
		t.Errorf("kind not set: %q", u.Kind)
	}

	// A spec change (new generation) is applied.
	gens := f.store.Generation()
	if _, err := f.serin.SerinV1alpha1().UpstreamGroups("default").Update(ctx, group("g", 2, 50, 50), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "group update", func() bool {
		g, ok := f.store.Read().UpstreamGroup(ident.Key{Namespace: "default", Name: "g"})
		return ok && g.Spec.Destinations[0].Weight == 50
	})
	if f.store.Generation() != gens+1 {
		t.Errorf("update took %d transactions", f.store.Generation()-gens)
	}

	// A status-only update (same generation and spec) is not a change.
	gens = f.store.Generation()
	st := group("g", 2, 50, 50)
	st.Status.State = v1alpha1.StateAccepted
	if _, err := f.serin.SerinV1alpha1().UpstreamGroups("default").UpdateStatus(ctx, st, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A marker change behind it shows the status update was processed.
	if _, err := f.serin.SerinV1alpha1().UpstreamGroups("default").Create(ctx, group("marker", 1, 1, 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "marker", func() bool {
		_, ok := f.store.Read().UpstreamGroup(ident.Key{Namespace: "default", Name: "marker"})
		return ok
	})
	if d := f.store.Generation() - gens; d != 1 {
		t.Errorf("status update + marker took %d transactions, want 1 (the marker)", d)
	}

	// An endpoint scale-up reaches the store.
	sl2 := sl.DeepCopy()
	sl2.Endpoints = append(sl2.Endpoints, endpoint("10.0.0.3", "c", "web-v2b", true))
	if _, err := f.kube.DiscoveryV1().EndpointSlices("apps").Update(ctx, sl2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Its pod is not known yet, so the selector does not match it.
	eventually(t, "slice processed", func() bool { return f.applied.Load() > 0 })
	time.Sleep(50 * time.Millisecond)
	if eps, _ := f.store.Read().UpstreamEndpoints(key); len(eps) != 1 {
		t.Fatalf("endpoint of unknown pod used: %+v", eps)
	}

	// Deleting the Service empties the upstream's endpoints.
	if err := f.kube.CoreV1().Services("apps").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "endpoints emptied", func() bool { eps, ok := f.store.Read().UpstreamEndpoints(key); return ok && len(eps) == 0 })

	// Deleting the Upstream removes it and its endpoint set.
	if err := f.serin.SerinV1alpha1().Upstreams("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "upstream deleted", func() bool {
		txn := f.store.Read()
		_, okU := txn.Upstream(key)
		_, okE := txn.UpstreamEndpoints(key)
		return !okU && !okE
	})
}

func TestResyncDoesNotChangeStore(t *testing.T) {
	f := startFake(t, 50*time.Millisecond, []runtime.Object{group("g", 1, 90, 10), kubeUpstream(80, nil)}, nil)
	gen := f.store.Generation()
	applied := f.applied.Load()
	eventually(t, "resyncs", func() bool { return f.applied.Load() > applied+3 })
	if g := f.store.Generation(); g != gen {
		t.Fatalf("resyncs of unchanged objects changed the store: generation %d -> %d", gen, g)
	}
}

func TestNamespaceScoping(t *testing.T) {
	a := group("a", 1, 1, 1)
	b := group("b", 1, 1, 1)
	b.Namespace = "other"
	sc := serinfake.NewSimpleClientset(a, b)
	scheme := metadatafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(scheme)
	st := store.New()
	src, err := newSource(Config{Store: st, Namespaces: []string{"default"}}, sc, kubefake.NewSimpleClientset(), metadatafake.NewSimpleMetadataClient(scheme))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx)
	<-src.Synced()
	txn := st.Read()
	if _, ok := txn.UpstreamGroup(ident.Key{Namespace: "default", Name: "a"}); !ok {
		t.Error("watched namespace missing")
	}
	if _, ok := txn.UpstreamGroup(ident.Key{Namespace: "other", Name: "b"}); ok {
		t.Error("unwatched namespace loaded")
	}
}
