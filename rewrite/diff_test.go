package rewrite

import (
	"bytes"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	in := "FROM python:3.7\nRUN a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\nRUN g\nFROM alpine:3.19\n"
	res, err := File("Dockerfile", []byte(in), Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Diff(&out, "Dockerfile", []byte(in), res.Output); err != nil {
		t.Fatal(err)
	}
	want := `--- Dockerfile
+++ Dockerfile
@@ -1,4 +1,6 @@
-FROM python:3.7
+ARG AWS_ACCOUNT_ID
+ARG AWS_REGION=us-east-1
+FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7
 RUN a
 RUN b
 RUN c
@@ -6,4 +8,4 @@
 RUN e
 RUN f
 RUN g
-FROM alpine:3.19
+FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/alpine:3.19
`
	if out.String() != want {
		t.Errorf("Diff =\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := Diff(&out, "Dockerfile", []byte(in), []byte(in)); err != nil || out.Len() != 0 {
		t.Errorf("Diff of equal inputs = %q, %v; want nothing", out.String(), err)
	}
}

// TestDiffLongFile: only the changed part of a long file is aligned, so a
// diff of a 50000-line file costs no quadratic table.
func TestDiffLongFile(t *testing.T) {
	in := "FROM python:3.7\n" + strings.Repeat("RUN true\n", 50000)
	res, err := File("Dockerfile", []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Diff(&out, "Dockerfile", []byte(in), res.Output); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "--- Dockerfile\n+++ Dockerfile\n@@ -1,4 +1,6 @@\n-FROM python:3.7\n") || strings.Count(out.String(), "@@") != 2 {
		t.Errorf("Diff of a long file:\n%.400s", out.String())
	}
}
