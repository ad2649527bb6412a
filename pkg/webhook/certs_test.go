package webhook

import (
	"crypto/x509"
	"testing"

	"github.com/serin-dev/serin/pkg/certgen"
)

// WriteSelfSigned writes a certificate for host, issued by a new CA, and
// its key into dir; pool trusts the CA.
func WriteSelfSigned(t *testing.T, dir, host string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	ca, err := certgen.NewCA("webhook-test")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(certgen.Leaf{Hosts: []string{host}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _, err = certgen.WriteFiles(dir, map[string][]byte{certgen.KeyCert: certPEM, certgen.KeyKey: keyPEM, certgen.KeyCACert: ca.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return certFile, keyFile, pool
}
