package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkProcessCheck times what the pre-commit hook pays per commit: a
// whole `ecrbase rewrite --check` process on one Dockerfile (target: under
// 30 ms).
func BenchmarkProcessCheck(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "ecrbase")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte(converted), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "rewrite", "--check", df)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
