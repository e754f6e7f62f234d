package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyEcrbaseIsInstalled: pre-commit's language: golang runs
// go install ./... at the root of this repository, so the root module must
// hold one command, ecrbase. The developer tools (bench, the e2e helpers,
// the hubproxy command) are modules of their own.
func TestOnlyEcrbaseIsInstalled(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "ecrbase" {
		t.Errorf("commands in the root module = %q, want only ecrbase: give a new tool its own go.mod, as bench/ has", got)
	}
}
