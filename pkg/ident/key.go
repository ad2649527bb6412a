package ident

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// DefaultNamespace is the namespace of objects and references that name none.
const DefaultNamespace = v1alpha1.DefaultNamespace

// Key identifies an object within its kind: namespace and name. A Key built
// by this package always has a namespace.
type Key struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// NewKey returns the key of name in namespace ns, defaulting the namespace.
func NewKey(ns, name string) Key {
	if ns == "" {
		ns = DefaultNamespace
	}
	return Key{Namespace: ns, Name: name}
}

// Named is what KeyOf needs of an object: every API kind has it.
type Named interface {
	GetNamespace() string
	GetName() string
}

// KeyOf returns the key of an object, defaulting the namespace.
func KeyOf(o Named) Key { return NewKey(o.GetNamespace(), o.GetName()) }

// RefKey returns the key a reference names from an object in namespace ns:
// a reference without a namespace points into the referrer's namespace.
func RefKey(r v1alpha1.ResourceRef, ns string) Key {
	if r.Namespace != "" {
		ns = r.Namespace
	}
	return NewKey(ns, r.Name)
}

// String renders the key as "namespace/name", the form ParseKey reads.
func (k Key) String() string { return k.Namespace + "/" + k.Name }

// Compare orders keys by namespace, then name.
func (k Key) Compare(o Key) int {
	return cmp.Or(strings.Compare(k.Namespace, o.Namespace), strings.Compare(k.Name, o.Name))
}

// Ref returns the reference to the object of kind with this key.
func (k Key) Ref(kind string) Ref { return Ref{Kind: kind, Namespace: k.Namespace, Name: k.Name} }

// ParseKey reads "namespace/name", or "name" in the default namespace.
func ParseKey(s string) (Key, error) {
	ns, name, found := strings.Cut(s, "/")
	if !found {
		ns, name = "", s
	}
	if name == "" || strings.Contains(name, "/") || (found && ns == "") {
		return Key{}, fmt.Errorf("%q is not namespace/name or name", s)
	}
	return NewKey(ns, name), nil
}

// MustParseKey is ParseKey for keys this program rendered itself with
// Key.String (store indexes, state records): an error is a bug, and yields
// the zero Key, which names nothing.
func MustParseKey(s string) Key {
	k, err := ParseKey(s)
	if err != nil {
		return Key{}
	}
	return k
}

// Ref names an object of a kind.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Key returns the referenced object's key.
func (r Ref) Key() Key { return Key{Namespace: r.Namespace, Name: r.Name} }

// String renders "Kind namespace/name".
func (r Ref) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// Compare orders references by kind, namespace, then name.
func (r Ref) Compare(o Ref) int {
	return cmp.Or(strings.Compare(r.Kind, o.Kind), strings.Compare(r.Namespace, o.Namespace), strings.Compare(r.Name, o.Name))
}
