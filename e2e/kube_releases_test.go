package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/kube"
)

// serinNamespace is where deploy/kubernetes/serin.yaml installs serin.
const serinNamespace = "serin-system"

// testKubeReleases saves a Canary's releases through one ReleaseLog (the
// leader) and reads them back through another (the next leader), from
// the ConfigMap in serin's namespace. Both run as serin's ServiceAccount
// with the RBAC of the committed manifests, which must be enough for that
// and must not let serin write ConfigMaps in the Canary's namespace.
func testKubeReleases(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
	manifests, err := os.ReadFile("../deploy/kubernetes/serin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k.apply(t, manifests, false) // the ServiceAccount and its RBAC, as installed
	asSerin := rest.CopyConfig(k.cfg)
	asSerin.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + serinNamespace + ":serin"}
	ns := k.namespace(t, "canary-releases")
	k.applyExample(t, ns, 9001, 9002)
	cn := &v1alpha1.Canary{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "myapp"},
		Spec: v1alpha1.CanarySpec{
			UpstreamGroup: v1alpha1.ResourceRef{Name: "myapp-upstream-group"},
			Stable:        v1alpha1.ResourceRef{Name: "myapp-v1"},
			Canary:        v1alpha1.ResourceRef{Name: "myapp-v2"},
			Steps:         []v1alpha1.CanaryStep{{Weight: 10}, {Weight: 100}},
		},
	}
	if _, err := k.serin.SerinV1alpha1().Canaries(ns).Create(ctx, cn, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := ident.Key{Namespace: ns, Name: "myapp"}
	leader, err := kube.NewReleaseLog(asSerin, kube.ReleasesInNamespace(serinNamespace))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Second)
	end := start.Add(time.Minute)
	first := canary.Release{
		Number: 1, Release: ns + "/myapp-v2", Spec: cn.Spec, Started: start, Ended: &end, Outcome: v1alpha1.PhaseSucceeded,
		Decisions: []v1alpha1.CanaryDecision{{Time: metav1.NewTime(start), Step: 0, Weight: 10, Verdict: "pass", Reason: "error rate 0.1% <= 1%", CanaryRequests: 1000}},
	}
	second := canary.Release{Number: 2, Release: ns + "/myapp-v3", Spec: cn.Spec, Started: end}
	for _, r := range []canary.Release{first, second} {
		if err := leader.SaveRelease(key, r); err != nil {
			t.Fatal(err)
		}
	}

	next, err := kube.NewReleaseLog(asSerin, kube.ReleasesInNamespace(serinNamespace))
	if err != nil {
		t.Fatal(err)
	}
	list, err := next.Releases(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Number != 1 || list[1].Number != 2 {
		t.Fatalf("releases %+v, want 1 and 2", list)
	}
	got := list[0]
	if got.Outcome != v1alpha1.PhaseSucceeded || !got.Started.Equal(start) || got.Ended == nil || !got.Ended.Equal(end) ||
		len(got.Decisions) != 1 || got.Decisions[0].CanaryRequests != 1000 || len(got.Spec.Steps) != 2 {
		t.Fatalf("release 1 read back as %+v", got)
	}

	cm, err := k.kube.CoreV1().ConfigMaps(serinNamespace).Get(ctx, "serin-canary-"+ns+".myapp-releases", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[kube.LabelManagedBy] != "serin" || cm.Labels[kube.LabelCanary] != "myapp" || cm.Labels[kube.LabelCanaryNamespace] != ns {
		t.Errorf("labels %v", cm.Labels)
	}
	// An owner in another namespace would have the garbage collector
	// delete the history at once.
	if len(cm.OwnerReferences) != 0 {
		t.Fatalf("owner references %+v, want none", cm.OwnerReferences)
	}
	if cms, _ := k.kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelManagedBy + "=serin"}); len(cms.Items) != 0 {
		t.Errorf("a release configmap in the Canary's namespace: %s", cms.Items[0].Name)
	}
	t.Logf("configmap %s/%s: %d bytes of releases", cm.Namespace, cm.Name, len(cm.Data[kube.ReleasesDataKey]))

	// The manifests' RBAC lets serin write ConfigMaps in its own namespace only.
	kc := kubernetes.NewForConfigOrDie(asSerin)
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "serin-stray"}}
	if _, err := kc.CoreV1().ConfigMaps(ns).Create(ctx, stray, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("serin created a configmap in %s: %v, want forbidden", ns, err)
	}
}
