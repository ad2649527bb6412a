package canary

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func postAndWait(t *testing.T, client *http.Client, url string) (bool, string) {
	t.Helper()
	type answer struct {
		ok  bool
		msg string
	}
	ch := make(chan answer, 1)
	post(client, v1alpha1.CanaryWebhook{Name: "h", URL: url}, WebhookPayload{}, func(ok bool, msg string) { ch <- answer{ok, msg} })
	select {
	case a := <-ch:
		return a.ok, a.msg
	case <-time.After(15 * time.Second):
		t.Fatal("webhook call did not end")
		return false, ""
	}
}

// TestWebhookAnswerNotEchoed: what an internal service answers is not
// shown beyond the status code and a short printable excerpt.
func TestWebhookAnswerNotEchoed(t *testing.T) {
	secret := "\x1b[2J\x00" + strings.Repeat("A", 60) + "\r\n\tTAIL-SECRET-" + strings.Repeat("s", 400)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(secret))
	}))
	defer srv.Close()
	ok, msg := postAndWait(t, WebhookClient(false), srv.URL) // loopback stays allowed
	if ok {
		t.Fatal("403 counted as ok")
	}
	if !strings.HasPrefix(msg, "403 [2J"+strings.Repeat("A", 60)) || strings.Contains(msg, "SECRET") || len(msg) > len("403 ")+answerExcerpt+len("...") {
		t.Fatalf("message %q: want the code and at most %d printable bytes", msg, answerExcerpt)
	}
	for _, c := range msg {
		if c < ' ' || c > '~' {
			t.Fatalf("message %q carries control or non-ASCII byte %q", msg, c)
		}
	}
}

func TestAnswerMessage(t *testing.T) {
	for body, want := range map[string]string{
		"":                             "200",
		" \n":                          "200",
		"ok":                           "200 ok",
		"  waiting\tfor\r\n approval ": "200 waiting for approval",
		"caf\xc3\xa9\x07!":             "200 caf!",
		strings.Repeat("x", 100):       "200 " + strings.Repeat("x", 64) + "...",
	} {
		if got := answerMessage(200, []byte(body)); got != want {
			t.Errorf("answerMessage(%q) = %q, want %q", body, got, want)
		}
	}
}

// TestWebhookRefusesMetadata: link-local and metadata addresses are
// refused at dial time, by address (after DNS) and by name.
func TestWebhookRefusesMetadata(t *testing.T) {
	client := WebhookClient(false)
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://169.254.1.2:8080/",
		"http://[fd00:ec2::254]/",
		"http://[fe80::1]:80/",
		"http://[::ffff:169.254.169.254]/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://METADATA.google.internal./",
	} {
		ok, msg := postAndWait(t, client, url)
		if ok || !strings.Contains(msg, "refused (serve --canary-webhook-allow-link-local") {
			t.Errorf("%s: ok=%v msg %q; want refused", url, ok, msg)
		}
	}
}

// TestWebhookAllowLinkLocal: the flag lifts the rule (the dial then runs
// and fails or times out on its own, not on the guard).
func TestWebhookAllowLinkLocal(t *testing.T) {
	client := WebhookClient(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://169.254.169.254/", nil)
	_, err := client.Do(req)
	if err != nil && strings.Contains(err.Error(), "refused (serve") {
		t.Fatalf("allowLinkLocal still refused: %v", err)
	}
}

func TestRefusedIP(t *testing.T) {
	for _, ip := range []string{"169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"} {
		if refusedIP(mustAddr(ip)) == "" {
			t.Errorf("%s allowed", ip)
		}
	}
	// In-cluster webhooks: loopback and private addresses stay allowed.
	for _, ip := range []string{"127.0.0.1", "::1", "10.0.0.5", "192.168.1.1", "172.16.0.1", "fd00::5", "100.64.0.1", "8.8.8.8"} {
		if why := refusedIP(mustAddr(ip)); why != "" {
			t.Errorf("%s refused: %s", ip, why)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
