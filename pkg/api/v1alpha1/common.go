package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultNamespace is the namespace of objects and references that name none.
const DefaultNamespace = "default"

// ResourceRef names another object. An empty namespace means the namespace of
// the object that holds the reference.
type ResourceRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// In returns the reference with its namespace filled in from ns when empty.
func (r ResourceRef) In(ns string) ResourceRef {
	if r.Namespace == "" {
		r.Namespace = ns
	}
	return r
}

// String renders the reference as namespace/name.
func (r ResourceRef) String() string { return r.Namespace + "/" + r.Name }

// Duration is a Go duration string such as "1s" or "250ms". It is kept as a
// string so that a bad value is reported by Validate with its field path
// instead of failing the whole document at decode time.
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
type Duration string

// Parse returns the duration; the empty string is zero.
func (d Duration) Parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return time.ParseDuration(string(d))
}

// Get returns the parsed duration or def when empty or invalid. Callers that
// run after Validate use it; Validate reports invalid values.
func (d Duration) Get(def time.Duration) time.Duration {
	v, err := d.Parse()
	if err != nil || d == "" {
		return def
	}
	return v
}

// State is the outcome of translating one object.
// +kubebuilder:validation:Enum=Pending;Accepted;Warning;Rejected
type State string

const (
	StatePending  State = "Pending"
	StateAccepted State = "Accepted"
	StateWarning  State = "Warning"
	StateRejected State = "Rejected"
)

// NackStatus is a configuration rejection that a data-plane node reported
// for resources built from this object.
type NackStatus struct {
	Node    string      `json:"node"`
	TypeURL string      `json:"typeUrl"`
	Version string      `json:"version,omitempty"`
	Message string      `json:"message"`
	Time    metav1.Time `json:"time,omitempty"`
}

// ResourceStatus is the status every translated kind carries.
type ResourceStatus struct {
	// +optional
	State State `json:"state,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Nacks []NackStatus `json:"nacks,omitempty"`
	// Serving is set when this version is Rejected but an earlier accepted
	// version of the object is still served in its place.
	// +optional
	Serving *ServedVersion `json:"serving,omitempty"`
}

// ServedVersion is the accepted version of an object still served while
// its newer version is rejected.
type ServedVersion struct {
	// Generation of the served version (metadata.generation; 0 in file mode).
	// +optional
	Generation int64 `json:"generation,omitempty"`
	// AcceptedAt is when that version was first accepted.
	AcceptedAt metav1.Time `json:"acceptedAt"`
}
