package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
)

func review(t *testing.T, op admissionv1.Operation, obj runtime.Object, kind string) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Kind:      metav1.GroupVersionKind{Group: v1alpha1.GroupName, Version: v1alpha1.Version, Kind: kind},
		Namespace: "default",
		Operation: op,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

func upstream(name string) *v1alpha1.Upstream {
	return &v1alpha1.Upstream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       v1alpha1.UpstreamSpec{Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: "10.0.0.1", Port: 8080}}}},
	}
}

func group(weights ...int64) *v1alpha1.UpstreamGroup {
	g := &v1alpha1.UpstreamGroup{ObjectMeta: metav1.ObjectMeta{Name: "g"}}
	for i, w := range weights {
		g.Spec.Destinations = append(g.Spec.Destinations, v1alpha1.WeightedDestination{
			Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: []string{"v1", "v2"}[i%2]}}, Weight: w,
		})
	}
	return g
}

func storeWith(t *testing.T, objs ...metav1.Object) *store.Store {
	st := store.New()
	if err := st.Update(func(tx *store.WriteTxn) error {
		for _, o := range objs {
			if err := tx.Put("kube", store.Entry{Obj: o}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReviewAllowsValidObject(t *testing.T) {
	h := NewHandler(storeWith(t, upstream("v1"), upstream("v2")))
	resp := h.Review(review(t, admissionv1.Create, group(90, 10), v1alpha1.KindUpstreamGroup))
	if !resp.Allowed {
		t.Fatalf("denied: %+v", resp.Result)
	}
}

func TestReviewRejectsWithLintMessages(t *testing.T) {
	h := NewHandler(storeWith(t, upstream("v1"), upstream("v2")))
	resp := h.Review(review(t, admissionv1.Update, group(0, 0), v1alpha1.KindUpstreamGroup))
	if resp.Allowed {
		t.Fatal("a group whose weights sum to 0 was allowed")
	}
	msg := resp.Result.Message
	if !strings.HasPrefix(msg, "UpstreamGroup default/g: spec.destinations") {
		t.Fatalf("message is not lint's format: %q", msg)
	}
	if resp.Result.Code != http.StatusUnprocessableEntity || resp.Result.Reason != metav1.StatusReasonInvalid {
		t.Fatalf("result %+v", resp.Result)
	}
	// No line appears twice although Validate and the translator both see it.
	lines := strings.Split(msg, "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			t.Fatalf("repeated line %q", l)
		}
		seen[l] = true
	}
}

func TestReviewAllowsDeletes(t *testing.T) {
	h := NewHandler(store.New())
	req := review(t, admissionv1.Delete, group(0), v1alpha1.KindUpstreamGroup)
	if !h.Review(req).Allowed {
		t.Fatal("delete denied")
	}
}

func TestReviewRejectsUnknownKind(t *testing.T) {
	h := NewHandler(store.New())
	if h.Review(review(t, admissionv1.Create, group(1), "Pod")).Allowed {
		t.Fatal("unknown kind allowed")
	}
}

func TestServeOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, ca := WriteSelfSigned(t, dir, "127.0.0.1")
	kp, err := NewKeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeListener(ctx, lis, kp, NewHandler(storeWith(t, upstream("v1"), upstream("v2"))))

	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  review(t, admissionv1.Create, group(0, 0), v1alpha1.KindUpstreamGroup),
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca}}}
	resp, err := client.Post("https://"+lis.Addr().String()+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Response == nil || out.Response.Allowed || out.Response.UID != "uid-1" || out.Kind != "AdmissionReview" {
		t.Fatalf("response %+v", out)
	}
}
