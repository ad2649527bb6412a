// Package tlstest makes a throwaway CA and certificates for tests (with
// pkg/certgen, as serin makes them in Kubernetes), written as PEM files
// into a test's directory.
package tlstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/serin-dev/serin/pkg/certgen"
)

// CA is a certificate authority that signs leaf certificates.
type CA struct {
	ca *certgen.CA
	// File is the CA certificate's PEM file.
	File string
}

// Pair is a leaf certificate's PEM files.
type Pair struct{ Cert, Key string }

// NewCA makes a CA named name and writes its certificate into t.TempDir().
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	c, err := certgen.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{ca: c, File: filepath.Join(t.TempDir(), name+"-ca.pem")}
	write(t, ca.File, c.CertPEM)
	return ca
}

// Server issues a server certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) Server(t testing.TB, name string) Pair {
	t.Helper()
	return ca.issue(t, name, certgen.Leaf{CommonName: name, Hosts: []string{"localhost", "127.0.0.1", "::1"}, Server: true})
}

// Client issues a client certificate whose SANs are the given URIs (e.g.
// spiffe://cluster.local/ns/edge/sa/envoy) and DNS names.
func (ca *CA) Client(t testing.TB, name string, uris []string, dns ...string) Pair {
	t.Helper()
	return ca.issue(t, name, certgen.Leaf{CommonName: name, URIs: uris, Hosts: dns, Client: true})
}

// WriteTo writes p's certificate and key to cert and key (for rotations in
// place).
func (p Pair) WriteTo(t testing.TB, cert, key string) {
	t.Helper()
	for src, dst := range map[string]string{p.Cert: cert, p.Key: key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(t, dst, b)
	}
}

func (ca *CA) issue(t testing.TB, name string, l certgen.Leaf) Pair {
	t.Helper()
	cert, key, err := ca.ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := Pair{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem")}
	write(t, p.Cert, cert)
	write(t, p.Key, key)
	return p
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
