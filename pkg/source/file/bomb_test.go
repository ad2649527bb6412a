package file

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// aliasBomb builds the attack of the "trust" issue: one serin object whose
// unknown fields l0..lN are a leaf string of leafBytes, then levels lists of
// fanout aliases each to the level below, so that the document expands to
// fanout^levels copies of the leaf. pad grows the leaf until the file is
// exactly size bytes (0: no padding).
func aliasBomb(levels, fanout, leafBytes, size int) []byte {
	build := func(leaf int) string {
		var b strings.Builder
		b.WriteString("apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: bomb}\n")
		fmt.Fprintf(&b, "l0: &l0 %s\n", strings.Repeat("x", leaf))
		for i := 1; i <= levels; i++ {
			refs := make([]string, fanout)
			for j := range refs {
				refs[j] = fmt.Sprintf("*l%d", i-1)
			}
			fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.Join(refs, ","))
		}
		return b.String()
	}
	s := build(leafBytes)
	if size > 0 {
		s = build(leafBytes + size - len(s))
	}
	return []byte(s)
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The attacks of the "trust" issue are refused from their parsed tree, before
// anything is expanded. Before the byte budget, decoding the 8.5 KB bomb
// allocated 3.6 GB (and ran out of memory on small machines), and the 578 B
// one 540 MB before the node limit stopped it; now each allocates tens of KB.
func TestAliasBombsRefused(t *testing.T) {
	const bound = 1 << 20 // 1 MiB: parsing the file, and no expansion
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{
			name: "8.5 KB: 5 levels of x10 aliases over an 8 KB leaf, 800 MB expanded",
			data: aliasBomb(5, 10, 8<<10, 0),
			want: "bomb.yaml:1: document 1 expands to more than 16 MiB after YAML aliases (limit --max-yaml-expansion-bytes)",
		},
		{
			name: "578 B: 5 levels of x10 over a 250 B leaf, 25 MB expanded",
			data: aliasBomb(5, 10, 0, 578),
			want: "bomb.yaml:1: document 1 expands to more than 16 MiB after YAML aliases (limit --max-yaml-expansion-bytes)",
		},
		{
			name: "578 B: 6 levels of x10, a million nodes",
			data: aliasBomb(6, 10, 0, 578),
			want: "bomb.yaml:1: document 1 expands to more than 1048576 nodes after YAML aliases",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.data) > 9000 {
				t.Fatalf("bomb is %d bytes", len(tt.data))
			}
			var objs []*Object
			var errs []error
			n := allocated(func() { objs, errs = DecodeObjects("bomb.yaml", tt.data) })
			if len(objs) != 0 || len(errs) != 1 || errs[0].Error() != tt.want {
				t.Fatalf("got %d objects, errors %q; want %q", len(objs), errStrings(errs), tt.want)
			}
			if n > bound {
				t.Errorf("decoding a %d B bomb allocated %d KB, want under %d KB", len(tt.data), n>>10, bound>>10)
			}
			t.Logf("%d B file: %d KB allocated", len(tt.data), n>>10)
		})
	}
}

// The budget is per file: the documents that fit load, the one that does
// not is refused, and a bomb in one file does not stop the others.
func TestExpansionBudget(t *testing.T) {
	lim := Limits{MaxExpansionBytes: 4 << 10}
	doc := func(name string) string { return "---\n" + upstreamYAML(name, 1) }
	data := doc("a") + "---\n" + string(aliasBomb(3, 10, 100, 0)) + doc("b")
	objs, errs := lim.DecodeObjects("f.yaml", []byte(data))
	if got := summary(objs); strings.Join(got, " ") != "Upstream default/a@2 Upstream default/b@20" {
		t.Errorf("objects %q", got)
	}
	want := "f.yaml:11: document 2 expands to more than 4 KiB after YAML aliases (limit --max-yaml-expansion-bytes)"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %q, want %q", errStrings(errs), want)
	}

	// Anchors within the budget load as before.
	ok := "apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: c, labels: &l {x: y}, annotations: *l}\n" +
		"spec: {static: {hosts: [{addr: h, port: 1}]}}\n"
	if objs, errs := lim.DecodeObjects("f.yaml", []byte(ok)); len(objs) != 1 || len(errs) != 0 {
		t.Errorf("anchors within the budget: %d objects, errors %q", len(objs), errStrings(errs))
	}
}

// A file over the size cap is refused from its size, unread: the 50 MB file
// of the issue (sparse here) allocates nothing near its size.
func TestFileOverSizeCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	writeFile(t, filepath.Join(dir, "good.yaml"), upstreamYAML("good", 1))

	var objs []*Object
	var errs []FileError
	n := allocated(func() { objs, errs, err = DefaultLimits().LoadPaths(dir) })
	if err != nil {
		t.Fatal(err)
	}
	want := big + ": file is 52428800 bytes, more than 4 MiB (limit --max-file-bytes); it is not read"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %v, want %q", errs, want)
	}
	if got := summary(objs); len(got) != 1 || got[0] != "Upstream default/good@1" {
		t.Errorf("objects %q", got)
	}
	if n > 1<<20 {
		t.Errorf("loading allocated %d KB", n>>10)
	}

	// A stream is cut at the cap + 1 byte.
	lim := Limits{MaxFileBytes: 10}
	if _, err := lim.ReadAll("<stdin>", strings.NewReader(strings.Repeat("x", 11))); err == nil ||
		err.Error() != "<stdin>: file is larger than 10 bytes (limit --max-file-bytes); it is not read" {
		t.Errorf("ReadAll: %v", err)
	}
	if b, err := lim.ReadAll("<stdin>", strings.NewReader(strings.Repeat("x", 10))); err != nil || len(b) != 10 {
		t.Errorf("ReadAll at the cap: %d bytes, %v", len(b), err)
	}
}

// A good file that becomes a bomb, or grows past the cap, keeps serving its
// last good objects and is listed with the reason; the other files load.
func TestSourceKeepsLastGoodOverLimits(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), upstreamYAML("a", 1))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 2))
	s, st := newSource(t, dir, WithLimits(Limits{MaxFileBytes: 16 << 10}))

	writeFile(t, filepath.Join(dir, "a.yaml"), string(aliasBomb(5, 10, 8<<10, 0)))
	writeFile(t, filepath.Join(dir, "b.yaml"), upstreamYAML("b", 2)+"# "+strings.Repeat("x", 16<<10)+"\n")
	writeFile(t, filepath.Join(dir, "c.yaml"), upstreamYAML("c", 3))
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(upstreams(st), " "), "a:1@a.yaml b:2@b.yaml c:3@c.yaml"; got != want {
		t.Errorf("upstreams %q, want %q", got, want)
	}
	var got []string
	for _, e := range s.Errors() {
		got = append(got, filepath.Base(e.File)+": "+e.Message)
	}
	want := []string{
		"a.yaml: document 1 expands to more than 16 MiB after YAML aliases (limit --max-yaml-expansion-bytes)",
		"b.yaml: file is 16516 bytes, more than 16 KiB (limit --max-file-bytes); it is not read",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
