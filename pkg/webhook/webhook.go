// Package webhook is serin's validating admission webhook: it rejects a
// serin object that Validate() or a dry-run translation against the
// current state would reject, with the messages `serin lint` prints
// ("Kind namespace/name: field: message").
package webhook

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// maxBody bounds an AdmissionReview; the API server's own request limit
// is 3 MiB, and a review carries the object twice on update.
const maxBody = 7 << 20

// Handler answers admission.k8s.io/v1 AdmissionReview requests for the
// serin kinds. Deletes are always allowed.
type Handler struct {
	store *store.Store
	opts  translator.Options
	log   *slog.Logger
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithTranslatorOptions sets the options of the dry-run translation (use
// serve's, so the webhook judges what serve would serve).
func WithTranslatorOptions(o translator.Options) Option { return func(h *Handler) { h.opts = o } }

// NewHandler returns a handler that dry-runs translations against st.
func NewHandler(st *store.Store, opts ...Option) *Handler {
	h := &Handler{store: st, log: slog.Default()}
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	resp := h.Review(review.Request)
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		h.log.Warn("webhook: write response", "err", err)
	}
}

// Review decides one admission request.
func (h *Handler) Review(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect {
		return &admissionv1.AdmissionResponse{Allowed: true}
	}
	obj, err := decode(req.Kind.Kind, req.Object.Raw)
	if err != nil {
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, []string{err.Error()})
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(req.Namespace)
	}
	obj.(interface{ Default() }).Default()
	rejected, warnings := h.check(obj)
	if len(rejected) > 0 {
		h.log.Info("webhook: rejected", "kind", req.Kind.Kind, "namespace", obj.GetNamespace(), "name", obj.GetName(), "problems", len(rejected))
		resp := deny(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, rejected)
		resp.Warnings = warnings
		return resp
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
}

// check returns the object's problems as lint prints them: first what
// Validate finds, then the dry-run translation's, without repeats.
func (h *Handler) check(obj metav1.Object) (rejected, warnings []string) {
	ref := ident.Ref{Kind: store.KindOf(obj), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	seen := map[string]bool{}
	add := func(list *[]string, fieldPath, msg string) {
		line := lintLine(ref, fieldPath, msg)
		if !seen[line] {
			seen[line] = true
			*list = append(*list, line)
		}
	}
	for _, e := range obj.(interface{ Validate() field.ErrorList }).Validate() {
		msg := e.ErrorBody()
		if msg == "" {
			msg = e.Detail
		}
		add(&rejected, e.Field, msg)
	}
	in := withObject(translator.InputFrom(h.store.Read()), obj)
	// BuildIR is the half of Translate that decides the reports; the
	// webhook needs no Envoy resources.
	_, reports := translator.BuildIR(in, h.opts)
	for _, rep := range reports {
		if rep.Ref != ref {
			continue
		}
		for _, p := range rep.Problems {
			if p.Severity == v1alpha1.StateRejected {
				add(&rejected, p.Field, p.Message)
			} else {
				add(&warnings, p.Field, p.Message)
			}
		}
	}
	return rejected, warnings
}

// lintLine renders a problem exactly as `serin lint` does after its
// file:line prefix.
func lintLine(ref ident.Ref, fieldPath, msg string) string {
	s := ref.String() + ": "
	if fieldPath != "" {
		s += fieldPath + ": "
	}
	return s + msg
}

func deny(code int32, reason metav1.StatusReason, msgs []string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		Allowed: false,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    code,
			Reason:  reason,
			Message: strings.Join(msgs, "\n"),
		},
	}
}

// decode reads the object of an admission request.
func decode(kind string, raw []byte) (metav1.Object, error) {
	obj, ok := v1alpha1.New(kind)
	if !ok {
		return nil, fmt.Errorf("serin's webhook does not handle kind %q", kind)
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return obj, nil
}
