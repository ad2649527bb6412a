package ident

import "testing"

func TestParseKey(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Key
		err  bool
	}{
		{in: "ns/a", want: Key{"ns", "a"}},
		{in: "a", want: Key{"default", "a"}},
		{in: "", err: true},
		{in: "/a", err: true},
		{in: "ns/", err: true},
		{in: "a/b/c", err: true},
	} {
		got, err := ParseKey(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseKey(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil {
			if back, _ := ParseKey(got.String()); back != got {
				t.Errorf("ParseKey(%q.String()) = %v", got, back)
			}
		}
	}
}

func TestClusterNameRoundTrip(t *testing.T) {
	for _, k := range []Key{{"default", "myapp-v2"}, {"team-a", "x.y"}} {
		got, ok := ParseClusterName(ClusterName(k))
		if !ok || got != k {
			t.Errorf("ParseClusterName(ClusterName(%v)) = %v, %v", k, got, ok)
		}
	}
	for _, s := range []string{"", "noscore", "_ns", "name_"} {
		if k, ok := ParseClusterName(s); ok {
			t.Errorf("ParseClusterName(%q) = %v, want not ok", s, k)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for ty := Type(0); ty < NumTypes; ty++ {
		if got, ok := TypeOf(ty.TypeURL()); !ok || got != ty {
			t.Errorf("TypeOf(%s) = %v, %v", ty.TypeURL(), got, ok)
		}
	}
	if _, ok := TypeOf("type.googleapis.com/other"); ok {
		t.Error("TypeOf(other) ok")
	}
}
