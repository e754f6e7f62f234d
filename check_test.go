package main

import (
	"strings"
	"testing"
)

// TestCheckListsOnce: under --check, with or without --strict, a pull that
// stays upstream is listed on stdout, and stderr does not warn of it again.
func TestCheckListsOnce(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1\nFROM $BASE\nFROM alpine:3.20\n",
	})
	for _, strict := range []bool{true, false} {
		args, status := []string{"rewrite", "--check", "Dockerfile"}, "1 file(s) do not pull from ECR yet"
		if strict {
			args, status = []string{"rewrite", "--check", "--strict", "Dockerfile"}, "2 pull(s) stay upstream"
		}
		code, out, errOut := ecrbase(t, "", args...)
		want := "Dockerfile:1 docker/dockerfile:1 "
		if code != exitChanges || !strings.HasPrefix(out, want) || !strings.Contains(out, "\nDockerfile:2 $BASE no value for BASE") {
			t.Fatalf("%v = %d, %q, want 3 listing lines 1 and 2", args, code, out)
		}
		if strings.Contains(errOut, "warning") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, status) {
			t.Errorf("%v stderr = %q, want only the status line", args, errOut)
		}
	}
	// Outside --check, the warnings are the only mention.
	if _, _, errOut := ecrbase(t, "", "rewrite", "Dockerfile"); !strings.Contains(errOut, "Dockerfile:2: warning: cannot resolve $BASE") || !strings.Contains(errOut, "Dockerfile:1: warning: docker/dockerfile:1 left as written") {
		t.Errorf("rewrite stderr = %q, want both warnings", errOut)
	}
}
