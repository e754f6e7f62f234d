package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkProcessCheckCompose is BenchmarkProcessCheck on a converted
// compose file: what the pre-commit hook pays on a commit that touches one.
func BenchmarkProcessCheckCompose(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "ecrbase")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile("examples/compose-app/compose.rewritten.txt")
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "rewrite", "--check", file)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
