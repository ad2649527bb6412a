package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OlderClaim reports whether a's claim (on a domain, a group, a name)
// predates b's: the Kubernetes rule, oldest wins. The claim's age is the
// object's creationTimestamp (the file source stamps objects with when it
// first saw them); equal or missing times fall back to namespace, then
// name, so the order is total and the same on every replica.
func OlderClaim(a, b metav1.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		switch {
		case ta.IsZero():
			return false // an object with no time is the newest claim
		case tb.IsZero():
			return true
		}
		return ta.Before(&tb)
	}
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}
