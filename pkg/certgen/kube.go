package certgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Secret keys, as kubernetes.io/tls and cert-manager use them.
const (
	KeyCert   = corev1.TLSCertKey       // tls.crt
	KeyKey    = corev1.TLSPrivateKeyKey // tls.key
	KeyCACert = "ca.crt"
	// KeyCAKey is the CA's private key; only the CA Secret holds it.
	KeyCAKey = "ca.key"
)

// managedBy labels the Secrets certgen creates.
const managedBy = "serin-certgen"

// EnsureCA returns the CA kept in Secret ns/name, making it (named
// commonName) and creating the Secret first when there is none. Replicas
// racing to create it all end with the one that won.
func EnsureCA(ctx context.Context, c kubernetes.Interface, ns, name, commonName string) (*CA, error) {
	data, err := ensure(ctx, c, ns, name, corev1.SecretTypeOpaque, func() (map[string][]byte, error) {
		ca, err := NewCA(commonName)
		if err != nil {
			return nil, err
		}
		return map[string][]byte{KeyCACert: ca.CertPEM, KeyCAKey: ca.KeyPEM}, nil
	})
	if err != nil {
		return nil, err
	}
	ca, err := LoadCA(data[KeyCACert], data[KeyCAKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	return ca, nil
}

// GetCA reads the CA kept in Secret ns/name; it never creates one (a
// client's certificate from a CA serin does not use is worth nothing).
func GetCA(ctx context.Context, c kubernetes.Interface, ns, name string) (*CA, error) {
	s, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w (serin serve --kube creates it on its first start)", ns, name, err)
	}
	ca, err := LoadCA(s.Data[KeyCACert], s.Data[KeyCAKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	return ca, nil
}

// EnsureLeaf returns the kubernetes.io/tls Secret ns/name (tls.crt,
// tls.key, ca.crt), issuing the certificate from ca and creating the
// Secret first when there is none. An existing Secret is kept as it is,
// but must hold a certificate ca signed: otherwise (a Secret left from
// another CA) it is an error that says to delete it.
func EnsureLeaf(ctx context.Context, c kubernetes.Interface, ns, name string, ca *CA, l Leaf) (map[string][]byte, error) {
	data, err := ensure(ctx, c, ns, name, corev1.SecretTypeTLS, func() (map[string][]byte, error) {
		cert, key, err := ca.Issue(l)
		if err != nil {
			return nil, err
		}
		return map[string][]byte{KeyCert: cert, KeyKey: key, KeyCACert: ca.CertPEM}, nil
	})
	if err != nil {
		return nil, err
	}
	if err := signedBy(data[KeyCert], ca); err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w; delete the Secret to have it issued again", ns, name, err)
	}
	if _, err := tls.X509KeyPair(data[KeyCert], data[KeyKey]); err != nil {
		return nil, fmt.Errorf("secret %s/%s: tls.key does not go with tls.crt (%v); delete the Secret to have it issued again", ns, name, err)
	}
	if err := covers(data[KeyCert], l); err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w; delete the Secret to have it issued again", ns, name, err)
	}
	return data, nil
}

// ensure gets Secret ns/name, or creates it with make's data.
func ensure(ctx context.Context, c kubernetes.Interface, ns, name string, typ corev1.SecretType, make func() (map[string][]byte, error)) (map[string][]byte, error) {
	secrets := c.CoreV1().Secrets(ns)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return s.Data, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	data, err := make()
	if err != nil {
		return nil, err
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": managedBy}},
		Type:       typ,
		Data:       data,
	}
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	switch {
	case err == nil:
		return created.Data, nil
	case apierrors.IsAlreadyExists(err):
		// Another replica won the race: use its Secret.
		s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
		}
		return s.Data, nil
	default:
		return nil, fmt.Errorf("secret %s/%s: create: %w", ns, name, err)
	}
}

func signedBy(certPEM []byte, ca *CA) error {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return errors.New("tls.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return fmt.Errorf("tls.crt: %w", err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return fmt.Errorf("tls.crt is not signed by CA %q", ca.Cert.Subject.CommonName)
	}
	return nil
}

// PatchCABundle sets caBundle on every webhook of the
// ValidatingWebhookConfiguration name when it differs (a JSON patch per
// webhook, so nothing else of the object is touched). It reports whether
// it changed anything.
func PatchCABundle(ctx context.Context, c kubernetes.Interface, name string, caPEM []byte) (bool, error) {
	vwcs := c.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwc, err := vwcs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("validatingwebhookconfiguration %s: %w", name, err)
	}
	var ops []string
	for i, w := range vwc.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, caPEM) {
			// The test makes the patch fail, rather than set the wrong
			// webhook, if the list changed since the Get.
			name, _ := json.Marshal(w.Name)
			ops = append(ops, fmt.Sprintf(`{"op":"test","path":"/webhooks/%d/name","value":%s}`, i, name),
				fmt.Sprintf(`{"op":"add","path":"/webhooks/%d/clientConfig/caBundle","value":%q}`, i, b64(caPEM)))
		}
	}
	if len(ops) == 0 {
		return false, nil
	}
	patch := []byte("[" + join(ops) + "]")
	if _, err := vwcs.Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return false, fmt.Errorf("validatingwebhookconfiguration %s: patch caBundle: %w", name, err)
	}
	return true, nil
}

// WriteFiles writes a Secret's certificate, key and CA into dir (mode
// 0600) for the code that serves TLS from files, and returns their paths.
func WriteFiles(dir string, data map[string][]byte) (cert, key, ca string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // it may have been there, looser
		return "", "", "", err
	}
	cert, key, ca = filepath.Join(dir, KeyCert), filepath.Join(dir, KeyKey), filepath.Join(dir, KeyCACert)
	for path, b := range map[string][]byte{cert: data[KeyCert], key: data[KeyKey], ca: data[KeyCACert]} {
		// A new file (never through a link someone left there), 0600.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", "", "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", "", "", err
		}
		_, werr := f.Write(b)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", "", "", werr
		}
	}
	return cert, key, ca, nil
}

// covers checks that a kept certificate still names what is asked of it
// (the hosts a server is dialed by, the identities of a client): a
// Secret made for other names would fail every handshake later, far
// from here.
func covers(certPEM []byte, l Leaf) error {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return errors.New("tls.crt is not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err
	}
	for _, h := range l.Hosts {
		if err := c.VerifyHostname(h); err != nil {
			return fmt.Errorf("tls.crt does not name %q", h)
		}
	}
	for _, u := range l.URIs {
		if !slices.ContainsFunc(c.URIs, func(x *url.URL) bool { return x.String() == u }) {
			return fmt.Errorf("tls.crt does not name %q", u)
		}
	}
	if time.Now().After(c.NotAfter) {
		return fmt.Errorf("tls.crt expired on %s", c.NotAfter.Format(time.DateOnly))
	}
	return nil
}
