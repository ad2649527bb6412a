package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// testKubeManifests applies the committed plain manifests to the API
// server with server-side apply, for real, so they are valid objects of
// kinds the server knows; then the chart with its webhook (rendered by
// hack/render-chart, certificate generated) as a server-side dry run.
func testKubeManifests(t *testing.T, k *kubeEnv) {
	for _, f := range []string{"../deploy/kubernetes/crds.yaml", "../deploy/kubernetes/serin.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := k.apply(t, b, false)
		t.Logf("%s: %d objects applied", f, n)
	}
	scope := k.namespace(t, "chart-scope")
	cmd := exec.Command("go", "run", ".", "-chart", "../../deploy/helm/serin", "-out", "-",
		"-set", "webhook.enabled=true", "-set", "serviceMonitor.enabled=false", "-set", "watchNamespaces={"+scope+"}")
	cmd.Dir = "../hack/render-chart"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render the chart: %v\n%s", err, stderr.String())
	}
	n := k.apply(t, out, true)
	t.Logf("chart with webhook and namespace-scoped RBAC: %d objects pass a server-side dry run", n)
}

// apply server-side-applies every document of a multi-document YAML.
func (k *kubeEnv) apply(t *testing.T, data []byte, dryRun bool) int {
	t.Helper()
	dc := discovery.NewDiscoveryClientForConfigOrDie(k.cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn := dynamic.NewForConfigOrDie(k.cfg)
	opts := metav1.PatchOptions{FieldManager: "serin-e2e", Force: ptrTo(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	n := 0
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			mapper.Reset() // a CRD applied a moment ago
			if m, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				t.Fatalf("%s %s: %v", gvk, obj.GetName(), err)
			}
		}
		body, err := json.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		if _, err := ri.Patch(context.Background(), obj.GetName(), types.ApplyPatchType, body, opts); err != nil {
			t.Fatalf("apply %s %s/%s: %v", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		n++
	}
	return n
}

func ptrTo[T any](v T) *T { return &v }
