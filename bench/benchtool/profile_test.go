package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"ecrbase/rewrite"
)

// These benchmarks profile the rewrite-throughput comparison in process, the
// whole-process numbers come from `benchtool run`:
//
//	go -C bench test ./benchtool -run '^$' -bench Tree -cpuprofile cpu.out
//	go tool pprof -top cpu.out

func benchTree(b *testing.B) []string {
	b.Helper()
	dir := b.TempDir()
	if err := WriteDockerfiles(dir, 1000, 1); err != nil {
		b.Fatal(err)
	}
	files, err := rewrite.Discover([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	if len(files) != 1000 {
		b.Fatalf("Discover found %d files, want 1000", len(files))
	}
	return files
}

func BenchmarkTreeParseOnly(b *testing.B) {
	files := benchTree(b)
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := parser.Parse(bytes.NewReader(data)); err != nil {
				b.Fatalf("%s: %v", f, err)
			}
		}
	}
}

func BenchmarkTreeRewrite(b *testing.B) {
	files := benchTree(b)
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rewrite.File(f, data, rewrite.Options{}); err != nil {
				b.Fatalf("%s: %v", filepath.Base(f), err)
			}
		}
	}
}
