package certgen

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func parse(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIssue: leaves verify against their CA for the usage they were made
// for, carry the SANs asked for, and a CA survives a PEM round trip.
func TestIssue(t *testing.T) {
	ca, err := NewCA("serin-ca.test")
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	srvPEM, _, err := again.Issue(Leaf{CommonName: "serin-xds", Hosts: []string{"serin.serin-system.svc", "127.0.0.1"}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := parse(t, srvPEM)
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "serin.serin-system.svc", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("server certificate: %v", err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Fatalf("server certificate by IP: %v", err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Fatal("a server certificate verifies as a client's")
	}

	cliPEM, _, err := ca.Issue(Leaf{URIs: []string{"spiffe://cluster.local/ns/edge/sa/envoy"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	cli := parse(t, cliPEM)
	if _, err := cli.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	if len(cli.URIs) != 1 || cli.URIs[0].String() != "spiffe://cluster.local/ns/edge/sa/envoy" {
		t.Fatalf("client URIs %v", cli.URIs)
	}
	if cli.NotAfter.After(ca.Cert.NotAfter) {
		t.Fatal("a leaf outlives its CA")
	}
	if err := signedBy(cliPEM, ca); err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA("other")
	if err := signedBy(cliPEM, other); err == nil {
		t.Fatal("signedBy accepts another CA's certificate")
	}

	if _, _, err := ca.Issue(Leaf{Hosts: []string{"x"}}); err == nil {
		t.Fatal("a leaf for nothing was issued")
	}
	if _, _, err := ca.Issue(Leaf{URIs: []string{"not a uri"}, Client: true}); err == nil {
		t.Fatal("a bad URI SAN was accepted")
	}
	if _, err := LoadCA(srvPEM, ca.KeyPEM); err == nil {
		t.Fatal("a leaf loaded as a CA")
	}
	if _, err := LoadCA(ca.CertPEM, other.KeyPEM); err == nil {
		t.Fatal("a CA loaded with another key")
	}
}

// TestWriteFiles: the key is a new 0600 file in a 0700 directory, never
// written through a link left in its place.
func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, KeyKey)); err != nil {
		t.Fatal(err)
	}
	_, key, _, err := WriteFiles(dir, map[string][]byte{KeyCert: []byte("c"), KeyKey: []byte("secret"), KeyCACert: []byte("ca")})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatal("the key was written through the link")
	}
	fi, err := os.Lstat(key)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v, want a regular 0600 file", fi.Mode(), err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, want 0700", di.Mode().Perm())
	}
}

func TestCovers(t *testing.T) {
	ca, err := NewCA("c")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.Issue(Leaf{Hosts: []string{"serin.serin-system.svc", "127.0.0.1"}, URIs: []string{"spiffe://x/y"}, Server: true, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := covers(cert, Leaf{Hosts: []string{"127.0.0.1", "serin.serin-system.svc"}, URIs: []string{"spiffe://x/y"}}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []Leaf{{Hosts: []string{"serin.other.svc"}}, {URIs: []string{"spiffe://x/z"}}} {
		if err := covers(cert, l); err == nil {
			t.Errorf("a certificate for other names covers %+v", l)
		}
	}
}
