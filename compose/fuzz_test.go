package compose

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

// FuzzFile checks, for any input that parses as YAML, that the output
// still parses, that no line without a rewritten image changed, and that a
// second rewrite is a no-op.
func FuzzFile(f *testing.F) {
	cases, _ := filepath.Glob("testdata/*/compose.yaml")
	for _, c := range cases {
		if data, err := os.ReadFile(c); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Add([]byte("services:\n  a: {image: 'redis:7', x: [1, 2]}\n  b:\n    image: &i \"postgres:16\" # c\n  c:\n    image: *i\n"))
	name := filepath.Join(f.TempDir(), "compose.yaml")
	opts := Options{Options: rewrite.Options{Region: "us-east-1"}, Environ: []string{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var probe yaml.Node
		if yaml.Unmarshal(data, &probe) != nil {
			return
		}
		res, err := File(context.Background(), name, data, opts)
		if err != nil {
			var re *rewrite.Error
			if !errors.As(err, &re) {
				t.Fatalf("File returned %T %v, want *rewrite.Error", err, err)
			}
			return
		}
		var out yaml.Node
		if err := yaml.Unmarshal(res.Output, &out); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, res.Output)
		}
		edited := map[int]bool{}
		for _, r := range res.Refs {
			if r.URI != "" {
				edited[r.Line] = true
			}
		}
		in, got := bytes.Split(data, []byte("\n")), bytes.Split(res.Output, []byte("\n"))
		if len(in) != len(got) {
			t.Fatalf("line count changed from %d to %d:\n%s", len(in), len(got), res.Output)
		}
		for i := range in {
			if !edited[i+1] && !bytes.Equal(in[i], got[i]) {
				t.Fatalf("line %d changed without an image on it:\n%q\n%q", i+1, in[i], got[i])
			}
		}
		again, err := File(context.Background(), name, res.Output, opts)
		if err != nil {
			t.Fatalf("rewriting the output: %v", err)
		}
		if !bytes.Equal(again.Output, res.Output) {
			t.Fatalf("second rewrite changed the output:\n%s\n----\n%s", res.Output, again.Output)
		}
	})
}
