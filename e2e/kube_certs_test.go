package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/tlsfiles/tlstest"
)

// testKubeCerts: serve --kube makes its CA, the webhook's and the xDS
// server's certificates into Secrets on first start and keeps them: the
// API server reaches the webhook through the caBundle serin set, a client
// certificate from `serin certs issue` is served over mTLS, and a restart
// changes nothing (no Secret, no caBundle).
func testKubeCerts(t *testing.T, k *kubeEnv) {
	ctx := context.Background()
	ns := k.namespace(t, "certs")
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	k.applyExample(t, ns, v1, v2)
	whPort := freePort(t)
	fail := admissionv1.Fail
	none := admissionv1.SideEffectClassNone
	scope := admissionv1.NamespacedScope
	vwcName := "serin-certs-" + ns
	vwc := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: vwcName},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "validate.serin.dev",
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			ClientConfig:            admissionv1.WebhookClientConfig{URL: ptrTo(fmt.Sprintf("https://127.0.0.1:%d/validate", whPort))},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{"serin.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"virtualservices"}, Scope: &scope},
			}},
		}},
	}
	if _, err := k.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), vwcName, metav1.DeleteOptions{})
	})

	kubeconfig := k.kubeconfig(t)
	s := startSerin(t, t.TempDir(), "--kube", "--kubeconfig", kubeconfig, "--namespaces", ns,
		"--cert-namespace", ns, "--webhook-addr", fmt.Sprintf("127.0.0.1:%d", whPort),
		"--webhook-cert-secret", "serin-webhook-tls", "--webhook-cert-hosts", "127.0.0.1",
		"--webhook-configuration", vwcName,
		"--xds-tls-secret", "serin-xds-tls", "--xds-tls-hosts", "127.0.0.1")

	secret := func(name string) map[string][]byte {
		t.Helper()
		sec, err := k.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("secret %s/%s: %v", ns, name, err)
		}
		return sec.Data
	}
	ca := secret("serin-ca")["ca.crt"]
	webhookCert, xdsCert := secret("serin-webhook-tls")["tls.crt"], secret("serin-xds-tls")["tls.crt"]
	if len(ca) == 0 || len(webhookCert) == 0 || len(xdsCert) == 0 {
		t.Fatal("serin did not create its CA, webhook and xDS Secrets")
	}
	waitFor(t, 10*time.Second, "the caBundle set to serin's CA", func() bool {
		got, err := k.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, vwcName, metav1.GetOptions{})
		return err == nil && bytes.Equal(got.Webhooks[0].ClientConfig.CABundle, ca)
	})
	// The API server calls the webhook over TLS with that caBundle.
	bad := &v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
		Spec: v1alpha1.VirtualServiceSpec{VirtualHost: v1alpha1.VirtualHost{Domains: []string{"bad"}, Routes: []v1alpha1.Route{{
			Matchers: []v1alpha1.Matcher{{Prefix: "/", Regex: "["}},
		}}}},
	}
	_, err := k.serin.SerinV1alpha1().VirtualServices(ns).Create(ctx, bad, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "validate.serin.dev") {
		t.Fatalf("the API server did not reach serin's webhook through the generated certificate: %v", err)
	}
	t.Logf("webhook over the generated certificate: %v", err)

	// A client certificate from the CLI, for a proxyless gRPC client.
	out, err := exec.Command(serinBin, "certs", "issue", "--kubeconfig", kubeconfig, "--ca-namespace", ns,
		"--namespace", ns, "--secret", "client-tls", "--uri", "spiffe://e2e/ns/"+ns+"/client").CombinedOutput()
	if err != nil {
		t.Fatalf("serin certs issue: %v\n%s", err, out)
	}
	client := secret("client-tls")
	dir := t.TempDir()
	for key, b := range client {
		if err := os.WriteFile(filepath.Join(dir, key), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caFile := &tlstest.CA{File: filepath.Join(dir, "ca.crt")}
	pair := tlstest.Pair{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}
	res := runTLSClient(t, s, caFile, pair, "default", 2000)
	assertBinomial(t, "v2 over mTLS with a certificate from serin certs issue", res.Totals["v2"], 2000, 0.10)

	// A restart keeps everything.
	s.crash()
	s.restart(t)
	if !bytes.Equal(secret("serin-ca")["ca.crt"], ca) || !bytes.Equal(secret("serin-webhook-tls")["tls.crt"], webhookCert) ||
		!bytes.Equal(secret("serin-xds-tls")["tls.crt"], xdsCert) {
		t.Fatal("a restart changed a certificate Secret")
	}
	res = runTLSClient(t, s, caFile, pair, "default", 500)
	if res.AllCalls != 500 || countErrors(res.Totals) != 0 {
		t.Fatalf("after restart: %+v", res)
	}
}
