package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecrbase/rewrite"
)

// ecrbase runs the CLI in-process and returns its exit status and output.
func ecrbase(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"ecrbase"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	plain     = "FROM python:3.7\nRUN pip install flask\n"
	converted = "ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\n" +
		"FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7\nRUN pip install flask\n"
)

func TestRewriteOneFileToStdout(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, plain, 0o644)
	code, out, errOut := ecrbase(t, "", "rewrite", "--region", "us-east-1", df)
	if code != exitOK || out != converted {
		t.Fatalf("rewrite = %d, %q (stderr %q), want 0, %q", code, out, errOut, converted)
	}
	if got := readFile(t, df); got != plain {
		t.Errorf("rewrite without -w changed the file: %q", got)
	}
}

func TestRewriteStdin(t *testing.T) {
	code, out, _ := ecrbase(t, plain, "rewrite", "--region", "us-east-1", "-")
	if code != exitOK || out != converted {
		t.Fatalf("rewrite - = %d, %q, want 0, %q", code, out, converted)
	}
}

func TestRewriteWriteKeepsModeAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "svc", "Dockerfile")
	writeFile(t, df, plain, 0o640)
	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", dir)
	if code != exitOK || !strings.Contains(errOut, "rewrote "+df) {
		t.Fatalf("rewrite -w = %d, stderr %q", code, errOut)
	}
	if got := readFile(t, df); got != converted {
		t.Fatalf("file after -w = %q, want %q", got, converted)
	}
	info, _ := os.Stat(df)
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode after -w = %v, want 0640", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(df))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	code, _, errOut = ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", dir)
	if code != exitOK || errOut != "" {
		t.Errorf("second rewrite -w = %d, stderr %q; want no change", code, errOut)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	todo := filepath.Join(dir, "api", "Dockerfile")
	done := filepath.Join(dir, "web", "app.Dockerfile")
	writeFile(t, todo, plain, 0o644)
	writeFile(t, done, converted, 0o644)
	writeFile(t, filepath.Join(dir, "node_modules", "x", "Dockerfile"), plain, 0o644)
	writeFile(t, filepath.Join(dir, "README.md"), "FROM nothing", 0o644)

	code, out, errOut := ecrbase(t, "", "rewrite", "--check", dir)
	if want := todo + ":1 python:3.7 not pulled from ECR yet: run ecrbase rewrite -w\n"; code != exitChanges || out != want {
		t.Fatalf("rewrite --check = %d, %q (stderr %q), want 3, %q", code, out, errOut, want)
	}
	if !strings.Contains(errOut, "rewrite -w") {
		t.Errorf("--check stderr %q does not say how to fix it", errOut)
	}
	if got := readFile(t, todo); got != plain {
		t.Errorf("--check changed a file: %q", got)
	}
	if code, _, _ := ecrbase(t, "", "rewrite", "--check", done); code != exitOK {
		t.Errorf("rewrite --check on a converted file = %d, want 0", code)
	}
}

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, plain, 0o644)
	code, out, _ := ecrbase(t, "", "rewrite", "--diff", "--region", "us-east-1", df)
	want := "--- " + df + "\n+++ " + df + "\n@@ -1,2 +1,4 @@\n-FROM python:3.7\n+ARG AWS_ACCOUNT_ID\n+ARG AWS_REGION=us-east-1\n" +
		"+FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7\n RUN pip install flask\n"
	if code != exitOK || out != want {
		t.Fatalf("rewrite --diff = %d,\n%s\nwant\n%s", code, out, want)
	}
}

// TestBadInput: each bad file gets one line naming it (and the line where
// there is one), is left untouched, and the good file is still rewritten.
func TestBadInput(t *testing.T) {
	cases := map[string]struct{ data, want string }{
		"not-dockerfile": {"Hello team,\nsee below.\n", "not-dockerfile/Dockerfile:1: unknown instruction: Hello"},
		"binary":         {"FROM alpine\n\x00\x01\x02\n", "binary/Dockerfile: binary file"},
		"empty":          {"", "empty/Dockerfile: empty Dockerfile"},
		"long-line":      {"FROM alpine\nRUN echo " + strings.Repeat("a", 70000) + "\n", "long-line/Dockerfile:1: dockerfile line greater than max allowed size"},
		"uppercase":      {"FROM alpine\nFROM Python:3.7\n", "uppercase/Dockerfile:2: invalid image reference \"Python:3.7\""},
		"bad-tag":        {"FROM python:3.7!\n", "bad-tag/Dockerfile:1: invalid image reference \"python:3.7!\""},
		"from-flag":      {"FROM alpine\nFROM --foo=bar python:3.7\n", "from-flag/Dockerfile:2: unknown flag: --foo"},
	}
	dir := t.TempDir()
	for name, c := range cases {
		writeFile(t, filepath.Join(dir, name, "Dockerfile"), c.data, 0o644)
	}
	good := filepath.Join(dir, "good", "Dockerfile")
	writeFile(t, good, plain, 0o644)
	missing := filepath.Join(dir, "missing", "Dockerfile")

	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", dir, missing)
	if code != exitError {
		t.Errorf("exit status = %d, want %d", code, exitError)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	for name, c := range cases {
		found := 0
		for _, l := range lines {
			if strings.Contains(l, c.want) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s: want exactly one stderr line containing %q, got:\n%s", name, c.want, errOut)
		}
		if got := readFile(t, filepath.Join(dir, name, "Dockerfile")); got != c.data {
			t.Errorf("%s: the bad file was changed", name)
		}
	}
	if !strings.Contains(errOut, missing+": no such file or directory") {
		t.Errorf("unreadable file not reported: %s", errOut)
	}
	if got := readFile(t, good); got != converted {
		t.Errorf("the good file was not rewritten alongside the bad ones: %q", got)
	}
	for _, l := range lines {
		if len(l) > 400 {
			t.Errorf("error line too long (%d bytes): %.100s...", len(l), l)
		}
	}
}

func TestImagesJSON(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=nginx:1.25 /b /b\n", 0o644)
	code, out, errOut := ecrbase(t, "", "images", "--json", df)
	if code != exitOK {
		t.Fatalf("images --json = %d, stderr %q", code, errOut)
	}
	var refs []rewrite.Ref
	if err := json.Unmarshal([]byte(out), &refs); err != nil {
		t.Fatalf("images --json output is not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, r := range refs {
		got = append(got, string(r.Kind)+" "+string(r.Status)+" "+r.Reference+" "+r.Repository)
	}
	want := []string{
		"syntax kept docker.io/docker/dockerfile:1 docker-hub/docker/dockerfile",
		"from rewrite docker.io/library/golang:1.22 docker-hub/library/golang",
		"from scratch  ",
		"copy-from stage  ",
		"copy-from rewrite docker.io/library/nginx:1.25 docker-hub/library/nginx",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("images --json rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestImagesTable(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, "FROM quay.io/minio/minio:RELEASE.2024\n", 0o644)
	code, out, _ := ecrbase(t, "", "images", df)
	if code != exitOK || !strings.HasPrefix(out, "FILE:LINE") || !strings.Contains(out, df+":1") || !strings.Contains(out, "quay/minio/minio") {
		t.Errorf("images = %d,\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "Dockerfile"), plain, 0o644)
	writeFile(t, filepath.Join(dir, "b", "Dockerfile"), plain, 0o644)
	for _, args := range [][]string{
		{"rewrite", "--no-such-flag"},
		{"--no-such-flag", "rewrite"},
		{"mirror", "--jobs", "many"},
		{"config", "--no-such-flag"},
		{"build-args", "--no-such-flag"},
		{"images", "--no-such-flag"},
		{"rewrite", dir},
		{"rewrite", "--build-arg", "=x", filepath.Join(dir, "a", "Dockerfile")},
		// A mistyped command is a usage error, not exit 3 ("files need
		// rewriting").
		{"rewite", "--check", dir},
		{"help", "rewite"},
		{"no-such-command"},
	} {
		if code, _, errOut := ecrbase(t, "", args...); code != exitUsage || errOut == "" {
			t.Errorf("ecrbase %q = %d (stderr %q), want %d with a message", args, code, errOut, exitUsage)
		}
	}
}

func TestEnvironmentVariables(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, plain, 0o644)
	t.Setenv("ECRBASE_REGION", "eu-west-1")
	t.Setenv("ECRBASE_ACCOUNT_ARG", "Account_ID")
	t.Setenv("ECRBASE_PREFIX", "docker.io=hub")
	code, out, _ := ecrbase(t, "", "rewrite", df)
	want := "ARG Account_ID\nARG AWS_REGION=eu-west-1\nFROM ${Account_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/hub/library/python:3.7\nRUN pip install flask\n"
	if code != exitOK || out != want {
		t.Errorf("rewrite with ECRBASE_* = %d, %q, want %q", code, out, want)
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, cmd := range []string{"images", "rewrite"} {
		code, out, _ := ecrbase(t, "", cmd, "--help")
		if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "ECRBASE_") {
			t.Errorf("%s --help = %d:\n%s", cmd, code, out)
		}
	}
}

func TestWarningsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, "ARG BASE\nFROM ${BASE}\n", 0o644)
	code, _, errOut := ecrbase(t, "", "rewrite", df)
	if code != exitOK || !strings.Contains(errOut, df+":2: warning:") || !strings.Contains(errOut, "--build-arg BASE=") {
		t.Errorf("unresolved reference = %d, stderr %q", code, errOut)
	}
	code, _, errOut = ecrbase(t, "", "rewrite", "--strict", df)
	if code != exitError || !strings.Contains(errOut, df+":2:") {
		t.Errorf("--strict = %d, stderr %q", code, errOut)
	}
}

func TestBuildArgs(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, "# syntax=docker/dockerfile:1.7\nARG PY=3.7\nFROM python:${PY}\n", 0o644)
	t.Setenv("AWS_ACCOUNT_ID", "123456789012")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	syntax := "BUILDKIT_SYNTAX=123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/docker/dockerfile:1.7"
	for _, tc := range []struct {
		format, want string
	}{
		{"docker", "--build-arg AWS_ACCOUNT_ID=123456789012 --build-arg AWS_REGION=eu-west-1 --build-arg PY=3.8 --build-arg " + syntax + "\n"},
		{"env", "AWS_ACCOUNT_ID=123456789012\nAWS_REGION=eu-west-1\nPY=3.8\n" + syntax + "\n"},
		{"json", "{\n  \"AWS_ACCOUNT_ID\": \"123456789012\",\n  \"AWS_REGION\": \"eu-west-1\",\n  \"BUILDKIT_SYNTAX\": \"" + syntax[len("BUILDKIT_SYNTAX="):] + "\",\n  \"PY\": \"3.8\"\n}\n"},
	} {
		code, out, errOut := ecrbase(t, "", "build-args", "--region", "eu-west-1", "--build-arg", "PY=3.8", "--format", tc.format, df)
		if code != exitOK || out != tc.want {
			t.Errorf("build-args --format %s = %d, %q (stderr %q), want %q", tc.format, code, out, errOut, tc.want)
		}
	}
	if code, _, _ := ecrbase(t, "", "build-args", "--format", "yaml", df); code != exitUsage {
		t.Errorf("build-args --format yaml = %d, want %d", code, exitUsage)
	}
}

func TestMirrorWithoutRegion(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, plain, 0o644)
	t.Chdir(dir)
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "ECRBASE_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, cmd := range []string{"mirror", "build-args"} {
		code, _, errOut := ecrbase(t, "", cmd, df)
		if code != exitError || !strings.Contains(errOut, "no AWS region: pass --region") {
			t.Errorf("%s without a region = %d, stderr %q", cmd, code, errOut)
		}
	}
}
