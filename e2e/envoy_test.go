package e2e

import (
	"context"
	"fmt"
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
	envoy, ok := envoyBinary()
	if !ok {
		t.Skip("envoy binary not found on PATH or in ENVOY_BIN; this test needs a real Envoy (the docker-compose setup in deploy/compose runs one)")
	}
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	listen := freePort(t)
	gw := fmt.Sprintf(`apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: gateway-proxy}
spec: {bindAddress: 127.0.0.1, bindPort: %d, fleet: default}
`, listen)
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gw), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSerin(t, dir)

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
	start(t, "envoy", envoy, "-c", bootPath, "--base-id", fmt.Sprint(adminPort), "-l", "info")
	waitFor(t, 30*time.Second, "envoy listener", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/listeners", adminPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return strings.Contains(b.String(), "gateway-proxy")
	})

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
