package main

import (
	"slices"
	"testing"
)

func TestHeaderMetadata(t *testing.T) {
	md, err := headerMetadata([]string{"X-Beta=true", "x-user-id=42", "x-user-id=43", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Get("x-beta"); !slices.Equal(got, []string{"true"}) {
		t.Errorf("x-beta = %v", got)
	}
	if got := md.Get("x-user-id"); !slices.Equal(got, []string{"42", "43"}) {
		t.Errorf("x-user-id = %v", got)
	}
	if got := md.Get("empty"); !slices.Equal(got, []string{""}) {
		t.Errorf("empty = %v", got)
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := headerMetadata([]string{bad}); err == nil {
			t.Errorf("headerMetadata(%q): no error", bad)
		}
	}
	if md, err := headerMetadata(nil); md != nil || err != nil {
		t.Errorf("no headers: %v %v", md, err)
	}
}
