package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// WebhookPayload is the JSON body of every webhook call.
type WebhookPayload struct {
	Name      string               `json:"name"`
	Namespace string               `json:"namespace"`
	Type      v1alpha1.WebhookType `json:"type"`
	Phase     v1alpha1.CanaryPhase `json:"phase"`
	Release   string               `json:"release"`
	Step      int32                `json:"step"`
	Weight    int32                `json:"weight"`
	Reason    string               `json:"reason,omitempty"`
	Metadata  map[string]string    `json:"metadata,omitempty"`
}

// gateResult is a gating webhook's answer, on its way to the loop.
type gateResult struct {
	id   string // the rollout's
	call *gateCall
	ok   bool
	msg  string
}

// callHook carries out a callHook effect: the call runs in a goroutine
// with the hook's timeout; a gate's answer goes back to the loop, a
// notification's failure is logged.
func (e *Engine) callHook(r *rollout, f callHook) {
	p, h := f.payload, f.hook
	p.Name, p.Namespace, p.Type, p.Metadata = r.key.Name, r.key.Namespace, h.Type, h.Metadata
	if f.gate == nil {
		id := r.id
		post(e.cfg.HTTPClient, h, p, func(ok bool, msg string) {
			if !ok {
				e.log.Warn("canary webhook failed", "canary", id, "webhook", h.Name, "type", h.Type, "answer", msg)
			}
		})
		return
	}
	res := gateResult{id: r.id, call: f.gate}
	post(e.cfg.HTTPClient, h, p, func(ok bool, msg string) {
		res.ok, res.msg = ok, msg
		select {
		case e.gates <- res:
		case <-e.stopped:
		}
	})
}

// post POSTs the payload with the hook's timeout in a goroutine.
func post(client *http.Client, h v1alpha1.CanaryWebhook, p WebhookPayload, done func(ok bool, msg string)) {
	body, _ := json.Marshal(p)
	timeout := h.Timeout.Get(10 * time.Second)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
		if err != nil {
			done(false, err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			done(false, err.Error())
			return
		}
		defer resp.Body.Close()
		head, _ := io.ReadAll(io.LimitReader(resp.Body, answerRead))
		// Drain a little more so the connection can be reused; a larger
		// answer just closes it.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		ok := resp.StatusCode/100 == 2
		done(ok, answerMessage(resp.StatusCode, head))
	}()
}

// The answer a webhook gives ends up in the Canary's status message, which
// every reader of /api/v1/canaries (and of the Canary object) sees. A
// webhook URL pointed at an internal service would turn that into a way to
// read the service's answers, so only the status code and a short,
// printable excerpt are kept: enough for "403 waiting for approval", not
// for a page of someone else's data.
const (
	answerExcerpt = 64  // printable bytes of the body kept in the message
	answerRead    = 256 // bytes read to find them
)

// answerMessage is "<code>" or "<code> <excerpt>", the excerpt being the
// first answerExcerpt printable ASCII bytes of body: control characters
// and non-ASCII bytes are dropped, runs of whitespace become one space.
func answerMessage(code int, body []byte) string {
	var b strings.Builder
	space := false
	for _, c := range body {
		if b.Len() > answerExcerpt {
			break
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = b.Len() > 0
		case c > ' ' && c < 0x7f:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return fmt.Sprint(code)
	}
	if x := b.String(); len(x) > answerExcerpt {
		return fmt.Sprintf("%d %s...", code, x[:answerExcerpt])
	}
	return fmt.Sprintf("%d %s", code, b.String())
}

// WebhookClient is the HTTP client for canary webhooks. It refuses to
// connect to link-local addresses (169.254.0.0/16, fe80::/10) and to the
// clouds' metadata services (169.254.169.254, fd00:ec2::254,
// 100.100.100.200, metadata.google.internal), which hand out credentials
// to whoever asks from the node, unless allowLinkLocal. The check is on the
// address actually dialed, after DNS, so a name that resolves to a public
// address when the Canary is written and to 169.254.169.254 when the
// webhook fires is still refused. Loopback and private addresses stay
// allowed: in-cluster webhooks are the common case (docs/security.md).
// No proxy from the environment is used: the check must see the target.
func WebhookClient(allowLinkLocal bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowLinkLocal {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %s: %w", address, err)
			}
			if why := refusedIP(ap.Addr()); why != "" {
				return fmt.Errorf("webhook: %s is %s; refused (serve --canary-webhook-allow-link-local allows it)", ap.Addr(), why)
			}
			return nil
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && !allowLinkLocal && metadataHosts[strings.TrimSuffix(strings.ToLower(host), ".")] {
			return nil, fmt.Errorf("webhook: %s is a cloud metadata service; refused (serve --canary-webhook-allow-link-local allows it)", host)
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: t}
}

// metadataHosts are names of metadata services; they resolve to refused
// addresses anyway, but refusing the name gives a clearer message.
var metadataHosts = map[string]bool{"metadata.google.internal": true, "metadata.goog": true}

// metadataIPs are metadata services outside link-local ranges.
var metadataIPs = map[netip.Addr]string{
	netip.MustParseAddr("fd00:ec2::254"):   "the AWS metadata service (IPv6)",
	netip.MustParseAddr("100.100.100.200"): "the Alibaba Cloud metadata service",
}

// refusedIP says why a webhook may not connect to ip, or "".
func refusedIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if why, ok := metadataIPs[ip]; ok {
		return why
	}
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return "link-local (cloud metadata services live there)"
	}
	return ""
}
