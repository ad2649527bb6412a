package translator

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTranslate decodes fuzzed YAML with the test decoder and translates
// it: no panic, every emitted resource ValidateAll-clean, no route naming a
// cluster the fleet does not serve, and the same output twice.
//
//	go test ./translator -run '^$' -fuzz FuzzTranslate -fuzztime 20s
func FuzzTranslate(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		input, opts, err := decodeInput(data)
		if err != nil {
			return
		}
		out := Translate(input, opts)
		for _, e := range checkOutput(out) {
			t.Error(e)
		}
		a, err := renderOutput(out)
		if err != nil {
			t.Fatal(err)
		}
		b, err := renderOutput(Translate(input, opts))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("two translations of the same input differ")
		}
	})
}
