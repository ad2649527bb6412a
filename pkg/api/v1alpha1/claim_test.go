package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOlderClaim(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	obj := func(ns, name string, at metav1.Time) *VirtualService {
		return &VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at}}
	}
	for _, tc := range []struct {
		name string
		a, b *VirtualService
		want bool
	}{
		{"older time wins over name", obj("z", "z", t0), obj("a", "a", t1), true},
		{"newer time loses", obj("a", "a", t1), obj("z", "z", t0), false},
		{"no time is newest", obj("a", "a", metav1.Time{}), obj("z", "z", t1), false},
		{"a time beats no time", obj("z", "z", t1), obj("a", "a", metav1.Time{}), true},
		{"tie: namespace", obj("a", "z", t0), obj("b", "a", t0), true},
		{"tie: name", obj("a", "a", t0), obj("a", "b", t0), true},
		{"same object", obj("a", "a", t0), obj("a", "a", t0), false},
	} {
		if got := OlderClaim(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: OlderClaim = %v, want %v", tc.name, got, tc.want)
		}
	}
}
