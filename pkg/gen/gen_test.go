package gen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

func TestDeterministic(t *testing.T) {
	a, b := Input(Config{VirtualServices: 50}), Input(Config{VirtualServices: 50})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations differ")
	}
	if len(a.Upstreams) != 100 || len(a.UpstreamGroups) != 50 || len(a.VirtualServices) != 50 {
		t.Fatalf("got %d upstreams, %d groups, %d virtual services", len(a.Upstreams), len(a.UpstreamGroups), len(a.VirtualServices))
	}
	if len(Entries(Config{VirtualServices: 50})) != 200 {
		t.Fatal("entries: want 4 per service")
	}
}

func TestTranslatesClean(t *testing.T) {
	out := translator.Translate(Input(Config{VirtualServices: 20}), translator.Options{})
	for _, r := range out.Reports {
		if r.State != "Accepted" {
			t.Errorf("%s: %s %s", r.Ref, r.State, r.Reason)
		}
	}
	res := out.Fleets["default"]
	if len(res.Clusters) != 40 || len(res.APIListeners) != 20 || len(res.Routes) != 21 || len(res.Listeners) != 1 {
		t.Fatalf("got %d clusters, %d api listeners, %d routes, %d listeners",
			len(res.Clusters), len(res.APIListeners), len(res.Routes), len(res.Listeners))
	}
}

// The files WriteDir writes load through the file source's decoder into
// the same objects (defaults applied).
func TestWriteDirLoads(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteDir(dir, Config{VirtualServices: 7}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 || filepath.Base(paths[1]) != "svc-00003.yaml" {
		t.Fatalf("paths = %v", paths)
	}
	want := map[string]string{}
	for _, e := range Entries(Config{VirtualServices: 7}) {
		// The decoder applies defaults; so does the comparison.
		if d, ok := e.Obj.(interface{ Default() }); ok {
			d.Default()
		}
		want[store.KindOf(e.Obj)+"/"+e.Obj.GetName()] = specJSON(t, e.Obj)
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		entries, errs := file.Decode(p, data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", p, errs)
		}
		n += len(entries)
		for _, e := range entries {
			id := store.KindOf(e.Obj) + "/" + e.Obj.GetName()
			if got := specJSON(t, e.Obj); got != want[id] {
				t.Errorf("%s: decoded %s, generated %s", id, got, want[id])
			}
		}
	}
	if n != 28 {
		t.Fatalf("decoded %d objects, want 28", n)
	}
}

func specJSON(t *testing.T, obj any) string {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := json.Marshal(m["spec"])
	return string(s)
}
