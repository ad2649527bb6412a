package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// prometheusBinary finds Prometheus through hack/prometheus.sh, which
// installs Debian's package when none is on PATH.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../hack/prometheus.sh").Output()
	if err != nil {
		// .ci/run installs Prometheus; a machine without it cannot prove
		// the provider, so this fails rather than skips.
		t.Fatalf("no Prometheus server: hack/prometheus.sh failed (%v); install the Debian package prometheus or set PROMETHEUS_BIN", err)
	}
	return strings.TrimSpace(string(out))
}

// startPrometheus runs a real Prometheus scraping targets every second.
func startPrometheus(t *testing.T, targets ...string) string {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: serin-demo
  static_configs:
  - targets: ['%s']
`, strings.Join(targets, "', '"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start(t, "prometheus", bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	waitFor(t, 30*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return "http://" + addr
}

// TestCanaryPrometheusProvider judges a release on PromQL over a real
// Prometheus scraping the backends' own metrics: v2 fails 20% of calls,
// and both the error rate and a custom success-rate metric (min 0.9) say
// so; the canary rolls back with Prometheus' numbers in its decision.
func TestCanaryPrometheusProvider(t *testing.T) {
	m1, m2 := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// The backends' version label is the upstream's name, so that the
	// queries' {{upstream}} and {{canary}} select them.
	v1 := startBackend(t, "myapp-v1", "--metrics-addr", m1)
	v2 := startBackend(t, "myapp-v2", "--metrics-addr", m2, "--error-rate", "0.2")
	prom := startPrometheus(t, m1, m2)
	dir := rolloutDir(t, v1, v2, canaryYAML("[{weight: 20}, {weight: 50}, {weight: 100}]", `    provider: prometheus
    interval: 2s
    minRequests: 30
    maxStepDuration: 1m
    maxErrorRate: 5
    maxLatencyP99: 1s
    metrics:
    - name: canary-success-rate
      query: 'sum(rate(serin_demo_requests_total{version="{{canary}}",code="OK"}[{{interval}}])) / sum(rate(serin_demo_requests_total{version="{{canary}}"}[{{interval}}]))'
      min: 0.9
`))
	s := startSerin(t, dir,
		"--prometheus-url", prom,
		"--prometheus-min-interval", "3s",
		"--prometheus-requests-query", `sum(increase(serin_demo_requests_total{version="{{upstream}}"}[{{interval}}]))`,
		"--prometheus-errors-query", `sum(increase(serin_demo_requests_total{version="{{upstream}}",code!="OK"}[{{interval}}]))`,
		"--prometheus-latency-query", `histogram_quantile(0.99, sum by (le) (rate(serin_demo_request_duration_seconds_bucket{version="{{upstream}}"}[{{interval}}])))`,
	)
	startLiveClient(t, s, "default", "xds:///myapp", 200)
	v := s.waitPhase(t, 60*time.Second, v1alpha1.PhaseRolledBack, v1alpha1.PhaseSucceeded, v1alpha1.PhasePaused)
	if v.Phase != v1alpha1.PhaseRolledBack || v.Provider != "prometheus" {
		t.Fatalf("phase %s provider %s, want RolledBack on prometheus; decisions:\n%s", v.Phase, v.Provider, decisionsText(v.Decisions))
	}
	var fail *struct{ req, errs int64 }
	var metricSeen bool
	for _, d := range v.Decisions {
		if d.Verdict == "Fail" || d.Verdict == "RolledBack" {
			if d.CanaryRequests >= 30 && d.CanaryErrors > 0 {
				fail = &struct{ req, errs int64 }{d.CanaryRequests, d.CanaryErrors}
			}
			if j := d.Judgement; j != nil {
				for _, m := range j.Metrics {
					// Evaluated from Prometheus (a success rate, so in
					// (0.5, 1] for a 20% failure rate over any window).
					if m.Name == "canary-success-rate" && m.Err == "" && m.Value > 0.5 && m.Value <= 1 {
						metricSeen = true
					}
				}
			}
			t.Logf("%s: %s", d.Verdict, d.Reason)
		}
	}
	if fail == nil {
		t.Fatalf("no failed check with Prometheus' numbers; decisions:\n%s", decisionsText(v.Decisions))
	}
	// The engine acts on the first check that crosses the 5% limit with
	// enough requests, so the rate it saw is above 5% but, on a small early
	// sample, can sit well below the backend's 20%.
	if rate := float64(fail.errs) / float64(fail.req); rate <= 0.05 || rate > 0.5 {
		t.Errorf("canary error rate from Prometheus %.2f (%d of %d), want above the 5%% limit and near the backend's 20%%", rate, fail.errs, fail.req)
	}
	if !metricSeen {
		t.Errorf("the custom metric canary-success-rate was not evaluated from Prometheus in a failing judgement")
	}
}
