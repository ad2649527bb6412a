package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3" // the stats sink's typed_config
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3" // the serin cluster's protocol options
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/pkg/adsclient"
	"github.com/serin-dev/serin/pkg/tlsfiles/tlstest"
)

// SPIFFE IDs of the two kinds of client in TestXDSMTLS.
const (
	edgeID = "spiffe://cluster.local/ns/edge/sa/client"
	webID  = "spiffe://cluster.local/ns/web/sa/client"
)

// TestXDSMTLS: serin serves xDS over mTLS with fleet rules. The real grpc-go
// xDS client, given TLS channel credentials in its bootstrap (gRFC A65),
// routes with its fleet's configuration when its certificate allows that
// fleet, and gets nothing otherwise; so does the Envoy-like ADS client,
// which also shows that a client without a certificate is refused.
func TestXDSMTLS(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	if err := os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte(edgeFleetYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, "xds")
	// The server's files live where the test can rotate them in place.
	certDir := t.TempDir()
	srv := tlstest.Pair{Cert: filepath.Join(certDir, "tls.crt"), Key: filepath.Join(certDir, "tls.key")}
	ca.Server(t, "serin").WriteTo(t, srv.Cert, srv.Key)
	edge := ca.Client(t, "edge", []string{edgeID})
	web := ca.Client(t, "web", []string{webID})
	s := startSerin(t, dir,
		"--xds-tls-cert", srv.Cert, "--xds-tls-key", srv.Key, "--xds-client-ca", ca.File,
		"--fleet-identity", "edge=spiffe://cluster.local/ns/edge/*",
		"--fleet-identity", "default=spiffe://cluster.local/ns/web/*")

	// grpc-go, right certificate: served.
	r := runTLSClient(t, s, ca, edge, "edge", 200)
	if r.Totals["v2"] != 200 {
		t.Fatalf("grpc-go edge client with the edge certificate: %v (errors %v), want all 200 calls on v2", r.Totals, r.Errors)
	}
	r = runTLSClient(t, s, ca, web, "default", 200)
	if r.Totals["v1"]+r.Totals["v2"] != 200 {
		t.Fatalf("grpc-go default client with the web certificate: %v (errors %v)", r.Totals, r.Errors)
	}
	// grpc-go, certificate of fleet edge asking for default: no
	// configuration, so no call reaches a backend.
	r = runTLSClient(t, s, ca, edge, "default", 8)
	if r.Totals["v1"]+r.Totals["v2"] != 0 || len(r.Errors) == 0 {
		t.Fatalf("grpc-go default client with the edge certificate: %v (errors %v), want every call failed", r.Totals, r.Errors)
	}

	// The Envoy-like client, SotW and delta.
	for _, delta := range []bool{false, true} {
		ok, err := adsTLS(t, s, ca, &web, adsclient.Config{Node: envoyNode("web", "default"), Delta: delta})
		if err != nil {
			t.Fatal(err)
		}
		waitClient(t, ok, "a complete configuration for the web certificate", complete)
		for _, tc := range []struct {
			name string
			cert *tlstest.Pair
			want codes.Code
		}{
			{"no certificate", nil, codes.Unavailable}, // the TLS handshake fails
			{"edge certificate asking for default", &edge, codes.PermissionDenied},
		} {
			c, err := adsTLS(t, s, ca, tc.cert, adsclient.Config{Node: envoyNode("refused", "default"), Delta: delta})
			if err != nil { // refused before the stream opened
				if got := status.Code(err); got != tc.want {
					t.Errorf("delta=%v %s: %v, want %v", delta, tc.name, err, tc.want)
				}
				continue
			}
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("delta=%v %s: not refused", delta, tc.name)
			}
			if got := status.Code(c.Err()); got != tc.want {
				t.Errorf("delta=%v %s: %v, want %v", delta, tc.name, c.Err(), tc.want)
			}
			if n := c.Count(adsclient.ClusterType); n != 0 {
				t.Errorf("delta=%v %s: received %d clusters", delta, tc.name, n)
			}
		}
	}

	// Rotation without restart: a server certificate from another CA,
	// written in place, is served within a poll (5 s); clients that trust
	// the new CA connect, the open stream of the old one is not cut.
	before, err := adsTLS(t, s, ca, &edge, adsclient.Config{Node: envoyNode("before-rotation", "edge")})
	if err != nil {
		t.Fatal(err)
	}
	waitClient(t, before, "a complete configuration before rotation", complete)
	ca2 := tlstest.NewCA(t, "xds-next")
	ca2.Server(t, "serin-next").WriteTo(t, srv.Cert, srv.Key)
	waitFor(t, 15*time.Second, "the rotated certificate served", func() bool {
		c, err := adsTLS(t, s, ca2, &edge, adsclient.Config{Node: envoyNode("after-rotation", "edge")})
		if err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return c.WaitFor(ctx, complete) == nil
	})
	select {
	case <-before.Done():
		t.Errorf("the stream opened before rotation ended: %v", before.Err())
	default:
	}

	// Refusals are counted.
	m := getText(t, "http://"+s.admin+"/metrics")
	if !strings.Contains(m, `serin_xds_denied_streams_total{fleet="default",protocol="sotw"}`) ||
		!strings.Contains(m, `serin_xds_denied_streams_total{fleet="default",protocol="delta"}`) {
		t.Errorf("metrics lack the refusals:\n%s", grepLines(m, "serin_xds_denied"))
	}
}

const edgeFleetYAML = `apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: default-gw}
spec: {fleet: default, bindPort: 8080, virtualServices: [{name: myapp}]}
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: edge-gw}
spec: {fleet: edge, bindPort: 8081, virtualServices: [{name: myapp-edge}]}
---
apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata: {name: edge-group}
spec:
  destinations:
  - {destination: {upstream: {name: myapp-v1}}, weight: 0}
  - {destination: {upstream: {name: myapp-v2}}, weight: 100}
---
apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: myapp-edge}
spec:
  virtualHost:
    domains: [myapp]
    routes:
    - matchers: [{prefix: /}]
      routeAction: {upstreamGroup: {name: edge-group}}
`

// runTLSClient makes count calls with the grpc-go xDS client connecting to
// serin with cert, as a node of fleet: serin-demo's --xds-tls-* flags put
// TLS channel credentials (gRFC A65) in its bootstrap.
func runTLSClient(t testing.TB, s *serin, ca *tlstest.CA, cert tlstest.Pair, fleet string, count int) clientReport {
	t.Helper()
	return runClient(t, s, fleet, "xds:///myapp", count, "--timeout", "3s", "--node-id", "grpc-"+fleet,
		"--xds-tls-ca", ca.File, "--xds-tls-cert", cert.Cert, "--xds-tls-key", cert.Key)
}

// adsTLS opens an Envoy-like ADS stream over TLS, presenting cert (nil:
// none).
func adsTLS(t testing.TB, s *serin, ca *tlstest.CA, cert *tlstest.Pair, cfg adsclient.Config) (*adsclient.Client, error) {
	t.Helper()
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: roots}
	if cert != nil {
		c, err := tls.LoadX509KeyPair(cert.Cert, cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	conn, err := grpc.NewClient(s.xds, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := adsclient.Start(context.Background(), conn, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func getText(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMTLSBootstrapIsValid: deploy/envoy/bootstrap-mtls.yaml is a valid
// Envoy bootstrap (no Envoy binary needed: Envoy's own protos and their
// validation rules) whose serin cluster speaks mTLS with the files the
// docs name.
func TestMTLSBootstrapIsValid(t *testing.T) {
	raw, err := os.ReadFile("../deploy/envoy/bootstrap-mtls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("bootstrap-mtls.yaml: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("bootstrap-mtls.yaml: %v", err)
	}
	var ctx tlsv3.UpstreamTlsContext
	cl := b.GetStaticResources().GetClusters()[0]
	if err := cl.GetTransportSocket().GetTypedConfig().UnmarshalTo(&ctx); err != nil {
		t.Fatalf("cluster %s transport socket: %v", cl.GetName(), err)
	}
	cert := ctx.GetCommonTlsContext().GetTlsCertificates()
	if len(cert) != 1 || cert[0].GetCertificateChain().GetFilename() == "" ||
		ctx.GetCommonTlsContext().GetValidationContext().GetTrustedCa().GetFilename() == "" {
		t.Errorf("cluster %s: want a client certificate and a trusted CA from files, got %v", cl.GetName(), &ctx)
	}
}
