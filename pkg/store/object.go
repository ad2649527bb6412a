// Package store holds serin's objects and canary state in an in-memory
// database (hashicorp/go-memdb) with consistent read transactions, indexes
// by id and by reference, and a watch for "something changed".
package store

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// Origin is where an object came from, for messages that point users at it.
type Origin struct {
	// File and Line locate the object's document (file source).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (o Origin) String() string {
	if o.File == "" {
		return ""
	}
	if o.Line == 0 {
		return o.File
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

// Entry is an object as a source hands it to the store.
type Entry struct {
	// Obj is a pointer to one of the API kinds.
	Obj    metav1.Object
	Origin Origin
}

// KindOf returns the kind of an API object, or "" for anything else.
func KindOf(o any) string {
	switch o.(type) {
	case *v1alpha1.Upstream:
		return v1alpha1.KindUpstream
	case *v1alpha1.UpstreamGroup:
		return v1alpha1.KindUpstreamGroup
	case *v1alpha1.VirtualService:
		return v1alpha1.KindVirtualService
	case *v1alpha1.Gateway:
		return v1alpha1.KindGateway
	case *v1alpha1.Canary:
		return v1alpha1.KindCanary
	}
	return ""
}
