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

// gate is one gating webhook call for one step.
type gate struct {
	done bool
	ok   bool
	msg  string
}

type gateResult struct {
	id  string
	key string
	// gate is the gate the call was made for: keys repeat (a new release,
	// a resumed step, a reset on leadership), answers must not.
	gate *gate
	ok   bool
	msg  string
	step int32
}

// gatesPass says whether every webhook of a gating type answered 2xx for
// the current step. It starts calls not made yet (off the loop: a slow
// hook holds only its own rollout) and retries failed ones at the next
// check.
func (e *Engine) gatesPass(r *rollout, typ v1alpha1.WebhookType, now time.Time) (bool, string) {
	pass, why := true, ""
	for _, h := range r.obj.Spec.Webhooks {
		if h.Type != typ {
			continue
		}
		key := fmt.Sprintf("%s/%d/%s", typ, r.status.Step, h.Name)
		g := r.gates[key]
		switch {
		case g == nil:
			g = &gate{}
			r.gates[key] = g
			id, step := r.id, r.status.Step
			e.call(r, h, WebhookPayload{Reason: string(typ) + " gate"}, func(ok bool, msg string) {
				select {
				case e.gates <- gateResult{id: id, key: key, gate: g, ok: ok, msg: msg, step: step}:
				case <-e.stopped:
				}
			})
			pass, why = false, fmt.Sprintf("waiting for %s webhook %s", typ, h.Name)
		case !g.done:
			pass, why = false, fmt.Sprintf("waiting for %s webhook %s", typ, h.Name)
		case !g.ok:
			delete(r.gates, key) // ask again next check
			pass, why = false, fmt.Sprintf("held by %s webhook %s: %s", typ, h.Name, g.msg)
		}
	}
	_ = now
	return pass, why
}

// gateDone records a gating answer and re-runs the rollout's check.
func (e *Engine) gateDone(ctx context.Context, res gateResult) {
	r := e.rollouts[res.id]
	if r == nil {
		return
	}
	g := r.gates[res.key]
	if g == nil || g != res.gate || res.step != r.status.Step {
		return // an answer to a call of an earlier gate with the same key
	}
	g.done, g.ok, g.msg = true, res.ok, res.msg
	if !res.ok {
		e.log.Info("canary held by webhook", "canary", r.id, "gate", res.key, "answer", res.msg)
	}
	if r.nextCheck.IsZero() {
		return
	}
	e.step(ctx, r, e.cfg.Now())
}

// notify fires the non-gating webhooks of typ; their answers are logged.
func (e *Engine) notify(r *rollout, typ v1alpha1.WebhookType, reason string) {
	for _, h := range r.obj.Spec.Webhooks {
		if h.Type == typ {
			e.call(r, h, WebhookPayload{Reason: reason}, func(ok bool, msg string) {
				if !ok {
					e.log.Warn("canary webhook failed", "canary", r.id, "webhook", h.Name, "type", typ, "answer", msg)
				}
			})
		}
	}
}

// call POSTs the payload with the hook's timeout in a goroutine.
func (e *Engine) call(r *rollout, h v1alpha1.CanaryWebhook, p WebhookPayload, done func(ok bool, msg string)) {
	p.Name, p.Namespace, p.Type = r.key.Name, r.key.Namespace, h.Type
	p.Phase, p.Release, p.Step, p.Weight = r.status.Phase, r.status.Release, r.status.Step, r.status.Weight
	p.Metadata = h.Metadata
	body, _ := json.Marshal(p)
	timeout := h.Timeout.Get(10 * time.Second)
	client := e.cfg.HTTPClient
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
