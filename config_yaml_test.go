package main

import (
	"fmt"
	"strings"
	"testing"
)

// aliasBomb is the "billion laughs" file: nine levels of nine aliases, 365
// bytes that expand to 9^9 strings when aliases are followed.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("version: 1\nbuild_args:\n  A: &a0 lol\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestAliasBombCheck: the pre-commit command fails at once with the
// file:line of the first alias.
func TestAliasBombCheck(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		".ecrbase.yaml": aliasBomb(),
		"Dockerfile":    plain,
	})
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", "Dockerfile")
	want := "ecrbase: .ecrbase.yaml:4: a YAML alias (*name): aliases are not supported, write the value out\n"
	if code != exitError || out != "" || errOut != want {
		t.Errorf("rewrite --check = %d, stdout %q, stderr %q; want %d, %q", code, out, errOut, exitError, want)
	}
}
