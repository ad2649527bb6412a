package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
	serinfake "github.com/serin-dev/serin/pkg/client/clientset/versioned/fake"
	"github.com/serin-dev/serin/pkg/ident"
)

var releasesKey = ident.Key{Namespace: "shop", Name: "myapp"}

// releasesNS is serin's own namespace, where the history is kept.
const releasesNS = "serin-system"

func fakeReleaseLog(t *testing.T, uid types.UID) (*ReleaseLog, *kubefake.Clientset, *serinfake.Clientset) {
	t.Helper()
	cn := &v1alpha1.Canary{ObjectMeta: metav1.ObjectMeta{Namespace: releasesKey.Namespace, Name: releasesKey.Name, UID: uid}}
	kc, sc := kubefake.NewSimpleClientset(), serinfake.NewSimpleClientset(cn)
	return newReleaseLog(kc, sc, releasesNS), kc, sc
}

func release(n int, decisions int) canary.Release {
	r := canary.Release{Number: n, Release: fmt.Sprintf("shop/myapp-v%d", n), Started: time.Unix(int64(n), 0).UTC()}
	for i := range decisions {
		r.Decisions = append(r.Decisions, v1alpha1.CanaryDecision{
			Step: int32(i), Verdict: "pass", Reason: fmt.Sprintf("decision %d: %s", i, strings.Repeat("x", 500)),
		})
	}
	return r
}

func numbers(list []canary.Release) []int {
	var out []int
	for _, r := range list {
		out = append(out, r.Number)
	}
	return out
}

func releasesConfigMap(t *testing.T, kc *kubefake.Clientset) *corev1.ConfigMap {
	t.Helper()
	cm, err := kc.CoreV1().ConfigMaps(releasesNS).Get(context.Background(), "serin-canary-shop.myapp-releases", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func TestReleaseLogSaveLoad(t *testing.T) {
	l, kc, _ := fakeReleaseLog(t, "uid-1")
	if list, err := l.Releases(releasesKey); err != nil || list != nil {
		t.Fatalf("no configmap yet: %v %v", list, err)
	}
	for _, r := range []canary.Release{release(1, 2), release(2, 1)} {
		if err := l.SaveRelease(releasesKey, r); err != nil {
			t.Fatal(err)
		}
	}
	// Saving a release again replaces it.
	ended := release(2, 3)
	end := time.Unix(100, 0).UTC()
	ended.Ended, ended.Outcome = &end, v1alpha1.PhaseSucceeded
	if err := l.SaveRelease(releasesKey, ended); err != nil {
		t.Fatal(err)
	}

	// Another replica (a new leader) reads what this one saved.
	other := newReleaseLog(kc, nil, releasesNS)
	list, err := other.Releases(releasesKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(list); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("releases %v, want [1 2]", got)
	}
	if got := list[1]; got.Outcome != v1alpha1.PhaseSucceeded || !got.Ended.Equal(end) || len(got.Decisions) != 3 {
		t.Fatalf("release 2 not replaced: %+v", got)
	}

	cm := releasesConfigMap(t, kc)
	if cm.Labels[LabelManagedBy] != "serin" || cm.Labels[LabelCanary] != "myapp" || cm.Labels[LabelCanaryNamespace] != "shop" {
		t.Errorf("labels %v", cm.Labels)
	}
	// An owner in another namespace would make the garbage collector
	// delete the ConfigMap at once.
	if len(cm.OwnerReferences) != 0 {
		t.Fatalf("owner references %+v, want none", cm.OwnerReferences)
	}
	if cms, _ := kc.CoreV1().ConfigMaps(releasesKey.Namespace).List(context.Background(), metav1.ListOptions{}); len(cms.Items) != 0 {
		t.Errorf("a configmap in the Canary's namespace: %v", cms.Items[0].Name)
	}
	var raw []canary.Release
	if err := json.Unmarshal([]byte(cm.Data[ReleasesDataKey]), &raw); err != nil || len(raw) != 2 {
		t.Errorf("data[%s]: %d releases, %v", ReleasesDataKey, len(raw), err)
	}
}

func TestReleaseLogKeepsNewest(t *testing.T) {
	l, _, _ := fakeReleaseLog(t, "uid-1")
	for n := 1; n <= maxKubeReleases+5; n++ {
		if err := l.SaveRelease(releasesKey, release(n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := l.Releases(releasesKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != maxKubeReleases || list[0].Number != 6 || list[len(list)-1].Number != maxKubeReleases+5 {
		t.Fatalf("kept %v, want 6..%d", numbers(list), maxKubeReleases+5)
	}
}

func TestReleaseLogByteBound(t *testing.T) {
	l, kc, _ := fakeReleaseLog(t, "uid-1")
	// About 200 KB each: the third pushes the first out.
	for n := 1; n <= 3; n++ {
		if err := l.SaveRelease(releasesKey, release(n, 350)); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := l.Releases(releasesKey)
	if fmt.Sprint(numbers(list)) != "[2 3]" {
		t.Fatalf("kept %v, want [2 3]", numbers(list))
	}
	// One release with the engine's 1,000 decisions (about 560 KB) keeps
	// its newest decisions.
	if err := l.SaveRelease(releasesKey, release(4, 1000)); err != nil {
		t.Fatal(err)
	}
	list, _ = l.Releases(releasesKey)
	if len(list) != 1 || list[0].Number != 4 {
		t.Fatalf("kept %v, want [4]", numbers(list))
	}
	d := list[0].Decisions
	if len(d) == 0 || len(d) >= 1000 || d[len(d)-1].Step != 999 {
		t.Fatalf("%d decisions, last %+v", len(d), d[len(d)-1])
	}
	if size := len(releasesConfigMap(t, kc).Data[ReleasesDataKey]); size > maxReleasesBytes {
		t.Fatalf("%d bytes stored, over %d", size, maxReleasesBytes)
	}
}

// TestReleaseLogRetriesOnConflict: a write that lost a race reads the
// other writer's release back and saves both.
func TestReleaseLogRetriesOnConflict(t *testing.T) {
	l, kc, _ := fakeReleaseLog(t, "uid-1")
	if err := l.SaveRelease(releasesKey, release(1, 1)); err != nil {
		t.Fatal(err)
	}
	updates := 0
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	kc.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		if updates > 1 {
			return false, nil, nil
		}
		// Another writer saves release 2 between our read and our write.
		obj, err := kc.Tracker().Get(gvr, releasesNS, "serin-canary-shop.myapp-releases")
		if err != nil {
			t.Error(err)
		}
		cm := obj.(*corev1.ConfigMap).DeepCopy()
		b, _ := json.Marshal([]canary.Release{release(1, 1), release(2, 1)})
		cm.Data[ReleasesDataKey] = string(b)
		if err := kc.Tracker().Update(gvr, cm, releasesNS); err != nil {
			t.Error(err)
		}
		return true, nil, apierrors.NewConflict(gvr.GroupResource(), cm.Name, fmt.Errorf("the object has been modified"))
	})
	if err := l.SaveRelease(releasesKey, release(3, 1)); err != nil {
		t.Fatal(err)
	}
	list, _ := l.Releases(releasesKey)
	if updates != 2 || fmt.Sprint(numbers(list)) != "[1 2 3]" {
		t.Fatalf("%d updates, releases %v; want 2 updates and [1 2 3]", updates, numbers(list))
	}
}

func TestReleaseLogNeedsCanary(t *testing.T) {
	l, kc, _ := fakeReleaseLog(t, "uid-1")
	gone := ident.Key{Namespace: "shop", Name: "gone"}
	if err := l.SaveRelease(gone, release(1, 1)); !apierrors.IsNotFound(err) {
		t.Fatalf("save for a missing Canary: %v, want not found", err)
	}
	if cms, _ := kc.CoreV1().ConfigMaps(releasesNS).List(context.Background(), metav1.ListOptions{}); len(cms.Items) != 0 {
		t.Fatalf("a configmap nothing would delete was created: %v", cms.Items[0].Name)
	}
}

// TestReleaseLogRecreatedCanary: a Canary re-created under the same name
// takes the old history over, as in file mode.
func TestReleaseLogRecreatedCanary(t *testing.T) {
	l, _, sc := fakeReleaseLog(t, "uid-1")
	if err := l.SaveRelease(releasesKey, release(1, 1)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := sc.SerinV1alpha1().Canaries("shop").Delete(ctx, "myapp", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cn := &v1alpha1.Canary{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "myapp", UID: "uid-2"}}
	if _, err := sc.SerinV1alpha1().Canaries("shop").Create(ctx, cn, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveRelease(releasesKey, release(2, 1)); err != nil {
		t.Fatal(err)
	}
	if list, _ := l.Releases(releasesKey); fmt.Sprint(numbers(list)) != "[1 2]" {
		t.Fatalf("releases %v, want [1 2]", numbers(list))
	}
}

func TestReleasesConfigMapName(t *testing.T) {
	if got := ReleasesConfigMapName(releasesKey); got != "serin-canary-shop.myapp-releases" {
		t.Fatalf("name %q", got)
	}
	// Without the dot, a-b/c and a/b-c would share a-b-c.
	if ReleasesConfigMapName(ident.Key{Namespace: "a-b", Name: "c"}) == ReleasesConfigMapName(ident.Key{Namespace: "a", Name: "b-c"}) {
		t.Error("two Canaries share a configmap")
	}
	ns := strings.Repeat("n", 63)                                    // the longest namespace
	long := strings.Repeat("a", 200) + "." + strings.Repeat("b", 52) // 253, the longest Canary name
	other := long[:252] + "c"
	// The shortened "shop.<name>" is cut at 220 characters: right after a
	// dot, and between two dashes.
	cutDot := strings.Repeat("a", 219-len("shop.")) + "." + strings.Repeat("b", 20)
	cutDash := strings.Repeat("a", 218-len("shop.")) + "--" + strings.Repeat("b", 20)
	for _, key := range []ident.Key{{Namespace: ns, Name: long}, {Namespace: ns, Name: other}, {Namespace: "shop", Name: cutDot}, {Namespace: "shop", Name: cutDash}} {
		cm := ReleasesConfigMapName(key)
		if errs := validation.IsDNS1123Subdomain(cm); len(errs) > 0 {
			t.Errorf("%q (%d): %v", cm, len(cm), errs)
		}
		if errs := validation.IsValidLabelValue(shorten(key.Name, 63)); len(errs) > 0 {
			t.Errorf("label %q: %v", shorten(key.Name, 63), errs)
		}
	}
	if a, b := ReleasesConfigMapName(ident.Key{Namespace: ns, Name: long}), ReleasesConfigMapName(ident.Key{Namespace: ns, Name: other}); a == b {
		t.Errorf("two long names share a configmap: %s", a)
	}
}
