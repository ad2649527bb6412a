package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		ok := resp.StatusCode/100 == 2
		done(ok, fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(msg)))
	}()
}
