package loadtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc/credentials"

	"github.com/serin-dev/serin/pkg/certgen"
)

// mtls is a throwaway CA, serin's server certificate and the clients' one,
// for measuring serin with mTLS on xDS the way users run it.
type mtls struct {
	// serveArgs are serin's flags for it.
	serveArgs []string
	creds     credentials.TransportCredentials
}

// newMTLS writes the CA and certificates into dir.
func newMTLS(dir string) (*mtls, error) {
	ca, err := certgen.NewCA("serin-load CA")
	if err != nil {
		return nil, err
	}
	srvCert, srvKey, err := ca.Issue(certgen.Leaf{CommonName: "serin", Hosts: []string{"127.0.0.1", "localhost"}, Server: true})
	if err != nil {
		return nil, err
	}
	cliCert, cliKey, err := ca.Issue(certgen.Leaf{URIs: []string{"spiffe://serin-load/client"}, Client: true})
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM, "tls.crt": srvCert, "tls.key": srvKey}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	pair, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.CertPEM) {
		return nil, errors.New("loadtest: CA certificate")
	}
	return &mtls{
		serveArgs: []string{
			"--xds-tls-cert", filepath.Join(dir, "tls.crt"), "--xds-tls-key", filepath.Join(dir, "tls.key"),
			"--xds-client-ca", filepath.Join(dir, "ca.crt"),
			"--fleet-identity", "default=spiffe://serin-load/*",
		},
		creds: credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}),
	}, nil
}

func (m *mtls) String() string { return fmt.Sprintf("mTLS (%d serve flags)", len(m.serveArgs)) }
