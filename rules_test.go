package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestImagesOnlyInParallel runs images --only over many Dockerfiles, which
// rewrites them on every core with one options value. Under go test -race it
// catches any write to the shared options.
func TestImagesOnlyInParallel(t *testing.T) {
	isolate(t)
	dir := newRepo(t, nil)
	for i := range 16 {
		writeFile(t, filepath.Join(dir, fmt.Sprint("svc", i), "Dockerfile"),
			"FROM python:3.7\nFROM quay.io/minio/minio:latest\nFROM ghcr.io/org/tool:1\n", 0o644)
	}
	code, out, errOut := ecrbase(t, "", "images", "--only", "Docker.io", "--only", "quay.io", dir)
	if code != exitOK {
		t.Fatalf("images --only = %d, stderr %q", code, errOut)
	}
	if n := strings.Count(out, " rewrite "); n != 32 {
		t.Errorf("images --only: %d references to rewrite, want 32:\n%s", n, out)
	}
	if n := strings.Count(out, " excluded "); n != 16 {
		t.Errorf("images --only: %d references excluded, want 16:\n%s", n, out)
	}
}

// TestHelpCommand: help and help COMMAND print help and exit 0; the usage
// tests cover help with an unknown command.
func TestHelpCommand(t *testing.T) {
	for _, args := range [][]string{{}, {"help"}, {"help", "rewrite"}} {
		code, out, errOut := ecrbase(t, "", args...)
		if code != exitOK || !strings.Contains(out, "USAGE:") {
			t.Errorf("ecrbase %q = %d, stdout %q, stderr %q; want 0 and the help", args, code, out, errOut)
		}
	}
	if _, out, _ := ecrbase(t, "", "help", "rewrite"); !strings.Contains(out, "--check") {
		t.Errorf("help rewrite does not show rewrite's flags:\n%s", out)
	}
	_, _, errOut := ecrbase(t, "", "rewite", ".")
	if !strings.Contains(errOut, `no command "rewite"`) || !strings.Contains(errOut, "rewrite") {
		t.Errorf("ecrbase rewite: stderr %q, want the unknown command and a suggestion", errOut)
	}
}
