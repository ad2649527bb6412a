package e2e

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
)

// BenchmarkKubernetesScale measures serin on a real API server holding
// 5,000 Upstreams, 2,500 UpstreamGroups and 2,500 VirtualServices: the
// time from start to the first snapshot, from a group patch to a connected
// grpc-go client ACKing the new routes (p50, p99), and resident memory.
// It is a measurement, run on demand:
//
//	KUBEBUILDER_ASSETS=$(hack/envtest-binaries.sh) go test ./e2e -run '^$' -bench KubernetesScale -benchtime 1x
func BenchmarkKubernetesScale(b *testing.B) {
	const upstreams, groups, services, patches = 5000, 2500, 2500, 100
	k := startKubeEnv(b)
	ns := k.namespace(b, "scale")
	backend := startBackend(b, "v1")

	fast := rest.CopyConfig(k.cfg)
	fast.QPS, fast.Burst = 2000, 2000
	sc := serinclient.NewForConfigOrDie(fast)
	created := time.Now()
	parallel(b, 16, upstreams, func(i int) error {
		_, err := sc.SerinV1alpha1().Upstreams(ns).Create(context.Background(), &v1alpha1.Upstream{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("us-%d", i)},
			Spec: v1alpha1.UpstreamSpec{Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: "127.0.0.1", Port: uint32(backend)}}},
				UseHttp2: ptrTo(true)},
		}, metav1.CreateOptions{})
		return err
	})
	parallel(b, 16, groups, func(i int) error {
		_, err := sc.SerinV1alpha1().UpstreamGroups(ns).Create(context.Background(), scaleGroup(i, 90, 10), metav1.CreateOptions{})
		return err
	})
	parallel(b, 16, services, func(i int) error {
		_, err := sc.SerinV1alpha1().VirtualServices(ns).Create(context.Background(), &v1alpha1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vs-%d", i)},
			Spec: v1alpha1.VirtualServiceSpec{VirtualHost: v1alpha1.VirtualHost{
				Domains: []string{fmt.Sprintf("svc-%d", i)},
				Routes: []v1alpha1.Route{{
					Matchers:    []v1alpha1.Matcher{{Prefix: "/"}},
					RouteAction: &v1alpha1.RouteAction{UpstreamGroup: &v1alpha1.ResourceRef{Name: fmt.Sprintf("ug-%d", i)}},
				}},
			}},
		}, metav1.CreateOptions{})
		return err
	})
	b.Logf("created %d objects in %v", upstreams+groups+services, time.Since(created).Round(time.Millisecond))

	runtime.GC()
	baseRSS := rssBytes()
	start := time.Now()
	r := startReplica(b, k, replicaOptions{namespaces: []string{ns}})
	firstSnapshot := time.Since(start)
	b.Logf("start -> first snapshot: %v", firstSnapshot.Round(time.Millisecond))

	live := startLiveClient(b, r.serin, "default", "xds:///svc-0", 50)
	waitFor(b, 30*time.Second, "client traffic", func() bool {
		_, n := live.collect(b, 300*time.Millisecond)
		return n > 0
	})
	acked := func() string {
		for _, n := range r.xsrv.Nodes() {
			for _, ty := range n.Types {
				if ty.Type == "route" {
					return ty.AckedVersion
				}
			}
		}
		return ""
	}
	var lat, inStore []time.Duration
	c := sc.SerinV1alpha1().UpstreamGroups(ns)
	for i := 0; i < patches; i++ {
		before := acked()
		w := []int64{90, 10}
		if i%2 == 0 {
			w = []int64{10, 90}
		}
		g, err := c.Get(context.Background(), "ug-0", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		g.Spec.Destinations[0].Weight, g.Spec.Destinations[1].Weight = w[0], w[1]
		gen := r.store.Generation()
		t0 := time.Now()
		if _, err := c.Update(context.Background(), g, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		for r.store.Generation() == gen {
			time.Sleep(100 * time.Microsecond)
		}
		inStore = append(inStore, time.Since(t0))
		for acked() == before {
			if time.Since(t0) > 10*time.Second {
				b.Fatalf("patch %d: no ACK of new routes within 10s", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(inStore, func(i, j int) bool { return inStore[i] < inStore[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.Logf("group patch -> store (API server, watch, informer, store): p50 %v, p99 %v", inStore[len(inStore)/2].Round(time.Millisecond/10), inStore[len(inStore)*99/100].Round(time.Millisecond/10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssBytes()
	b.Logf("group patch -> client ACK over %d patches: p50 %v, p99 %v, max %v", patches, p50.Round(time.Millisecond/10), p99.Round(time.Millisecond/10), lat[len(lat)-1].Round(time.Millisecond/10))
	b.Logf("resident memory: %d MiB (before serin started: %d MiB; Go heap in use %d MiB)", rss>>20, baseRSS>>20, ms.HeapInuse>>20)
	b.ReportMetric(firstSnapshot.Seconds(), "s-first-snapshot")
	b.ReportMetric(float64(p50.Microseconds())/1000, "ms-ack-p50")
	b.ReportMetric(float64(p99.Microseconds())/1000, "ms-ack-p99")
	b.ReportMetric(float64(rss>>20), "MiB-rss")
}

func scaleGroup(i int, w1, w2 int64) *v1alpha1.UpstreamGroup {
	return &v1alpha1.UpstreamGroup{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ug-%d", i)},
		Spec: v1alpha1.UpstreamGroupSpec{Destinations: []v1alpha1.WeightedDestination{
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: fmt.Sprintf("us-%d", 2*i)}}, Weight: w1},
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: fmt.Sprintf("us-%d", 2*i+1)}}, Weight: w2},
		}},
	}
}

// parallel runs fn(0..n-1) on workers goroutines and fails on the first error.
func parallel(t testing.TB, workers, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = fmt.Errorf("item %d: %w", i, err) })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// rssBytes reads this process's resident set size (Linux).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
