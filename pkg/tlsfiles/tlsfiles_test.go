package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/tlsfiles/tlstest"
)

// serve accepts TLS connections with cfg until the test ends.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// served dials addr and returns the server certificate's common name.
func served(t *testing.T, addr string, ca *tlstest.CA, client *tlstest.Pair) (string, error) {
	t.Helper()
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(ca.File)
	roots.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2"}}
	if client != nil {
		c, err := tls.LoadX509KeyPair(client.Cert, client.Key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// With TLS 1.3 a refused client certificate shows on the first read.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil && !isEOF(err) {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// TestRotation: new files in place are served at the next handshake after
// a poll, without restarting the listener.
func TestRotation(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Server(t, "first").WriteTo(t, cert, key)

	r, err := New(Files{Cert: cert, Key: key}, WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	addr := serve(t, r.ServerConfig())
	if cn, err := served(t, addr, ca, nil); err != nil || cn != "first" {
		t.Fatalf("before rotation: %q, %v", cn, err)
	}

	// A half-written rotation (a key that does not match) keeps the old pair.
	os.WriteFile(key, []byte("not a key"), 0o600)
	if _, err := r.Reload(); err == nil {
		t.Fatal("reload of a broken key: no error")
	}
	if cn, err := served(t, addr, ca, nil); err != nil || cn != "first" {
		t.Fatalf("after a broken rotation: %q, %v", cn, err)
	}

	ca.Server(t, "second").WriteTo(t, cert, key)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cn, err := served(t, addr, ca, nil)
		if err == nil && cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after rotation: still %q, %v", cn, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClientCA: with a client CA, a client must present a certificate from
// that CA.
func TestClientCA(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	other := tlstest.NewCA(t, "other")
	srv := ca.Server(t, "server")
	r, err := New(Files{Cert: srv.Cert, Key: srv.Key, ClientCA: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r.ServerConfig())
	if _, err := served(t, addr, ca, nil); err == nil {
		t.Error("no client certificate: accepted")
	}
	stranger := other.Client(t, "stranger", []string{"spiffe://other/x"})
	if _, err := served(t, addr, ca, &stranger); err == nil {
		t.Error("client certificate of another CA: accepted")
	}
	good := ca.Client(t, "envoy", []string{"spiffe://cluster.local/ns/edge/sa/envoy"})
	if _, err := served(t, addr, ca, &good); err != nil {
		t.Errorf("client certificate of the CA: %v", err)
	}
}

func TestIdentities(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	for _, tc := range []struct {
		uris, dns []string
		want      []string
	}{
		{[]string{"spiffe://cluster.local/ns/edge/sa/envoy"}, []string{"envoy.edge"}, []string{"spiffe://cluster.local/ns/edge/sa/envoy"}},
		{nil, []string{"envoy.edge", "envoy"}, []string{"envoy.edge", "envoy"}},
		{nil, nil, nil},
	} {
		p := ca.Client(t, "c", tc.uris, tc.dns...)
		c, err := tls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		got := Identities(c.Leaf)
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("Identities(uris %v, dns %v) = %v, want %v", tc.uris, tc.dns, got, tc.want)
		}
	}
}
