package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// envoyBinary finds Envoy in ENVOY_BIN or on PATH.
func envoyBinary() (string, bool) {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		return p, true
	}
	p, err := exec.LookPath("envoy")
	return p, err == nil
}

// TestEnvoyThroughBootstrap drives a real Envoy through
// deploy/envoy/bootstrap.yaml: it gets its listener, routes, clusters and
// endpoints from serin over ADS and splits gRPC calls 90/10.
func TestEnvoyThroughBootstrap(t *testing.T) {
	if _, ok := envoyBinary(); !ok {
		t.Skip("envoy binary not found on PATH or in ENVOY_BIN; this test needs a real Envoy (the docker-compose setup in deploy/compose runs one)")
	}
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	listen := addGateway(t, dir)
	s := startSerin(t, dir)
	startEnvoy(t, s)

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", listen),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("myapp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := testpb.NewTestServiceClient(conn)
	counts := map[string]int{}
	const n = 2000
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := stub.UnaryCall(ctx, &testpb.SimpleRequest{FillServerId: true})
		cancel()
		if err != nil {
			t.Fatalf("call %d through Envoy: %v", i, err)
		}
		counts[resp.GetServerId()]++
	}
	assertBinomial(t, "v2 through Envoy at 90/10", counts["v2"], n, 0.10)
}

// addGateway writes a Gateway on a free loopback port into dir, so that
// Envoy listens where the test can reach it, and returns the port.
func addGateway(t testing.TB, dir string) int {
	t.Helper()
	listen := freePort(t)
	gw := fmt.Sprintf("apiVersion: serin.dev/v1alpha1\nkind: Gateway\nmetadata: {name: gateway-proxy}\nspec: {bindAddress: 127.0.0.1, bindPort: %d, fleet: default}\n", listen)
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gw), 0o644); err != nil {
		t.Fatal(err)
	}
	return listen
}

// startEnvoy runs the envoy binary on deploy/envoy/bootstrap.yaml, pointed
// at s on loopback, and waits until it has serin's gateway listener.
func startEnvoy(t testing.TB, s *serin) {
	t.Helper()
	envoy, ok := envoyBinary()
	if !ok {
		t.Fatal("startEnvoy without an envoy binary; check envoyBinary first")
	}
	raw, err := os.ReadFile("../deploy/envoy/bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	xdsPort := s.xds[strings.LastIndexByte(s.xds, ':')+1:]
	adminPort := freePort(t)
	boot := strings.NewReplacer(
		"{address: serin, port_value: 18000}", "{address: 127.0.0.1, port_value: "+xdsPort+"}",
		"port_value: 9901", fmt.Sprintf("port_value: %d", adminPort),
		"address: 0.0.0.0", "address: 127.0.0.1",
	).Replace(string(raw))
	bootPath := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(bootPath, []byte(boot), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, "envoy", envoy, "-c", bootPath, "--base-id", fmt.Sprint(adminPort), "-l", "warn")
	waitFor(t, 30*time.Second, "envoy listener", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/listeners", adminPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "gateway-proxy")
	})
}
