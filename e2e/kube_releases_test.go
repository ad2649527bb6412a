package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/kube"
)

// testKubeReleases saves a Canary's releases through one ReleaseLog (the
// leader) and reads them back through another (the next leader), from
// the ConfigMap the Canary owns.
func testKubeReleases(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
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
	created, err := k.serin.SerinV1alpha1().Canaries(ns).Create(ctx, cn, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := ident.Key{Namespace: ns, Name: "myapp"}
	leader, err := kube.NewReleaseLog(k.cfg)
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

	next, err := kube.NewReleaseLog(k.cfg)
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

	cm, err := k.kube.CoreV1().ConfigMaps(ns).Get(ctx, "serin-canary-myapp-releases", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[kube.LabelManagedBy] != "serin" || cm.Labels[kube.LabelCanary] != "myapp" {
		t.Errorf("labels %v", cm.Labels)
	}
	if refs := cm.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Canary" || refs[0].Name != "myapp" || refs[0].UID != created.UID ||
		refs[0].APIVersion != fmt.Sprintf("%s/%s", v1alpha1.GroupName, v1alpha1.Version) {
		t.Fatalf("owner references %+v, want the Canary (uid %s)", refs, created.UID)
	}
	t.Logf("configmap %s: %d bytes of releases", cm.Name, len(cm.Data[kube.ReleasesDataKey]))
}
