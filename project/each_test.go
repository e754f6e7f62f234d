package project

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ecrbase/rewrite"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// countParses makes every analysis of the test count into n.
func countParses(t *testing.T) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	origAnalyze, origFile := analyze, rewriteFile
	analyze = func(name string, data []byte, opts rewrite.Options) (*rewrite.Analysis, error) {
		n.Add(1)
		return origAnalyze(name, data, opts)
	}
	rewriteFile = func(name string, data []byte, opts rewrite.Options) (*rewrite.Result, error) {
		n.Add(1)
		return origFile(name, data, opts)
	}
	t.Cleanup(func() { analyze, rewriteFile = origAnalyze, origFile })
	return &n
}

// TestEachOrder checks that files come to the visitor in the order given,
// whatever order the workers finish in, that a broken file is reported as
// such and stops no other, and that the count of failures is returned.
func TestEachOrder(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 60 {
		name := filepath.Join(dir, fmt.Sprintf("d%02d", i), "Dockerfile")
		body := fmt.Sprintf("FROM python:3.%d\n", i)
		if i%7 == 0 {
			// Larger files take longer, so workers finish out of order.
			body += strings.Repeat("RUN echo "+strings.Repeat("x", 200)+"\n", 2000)
		}
		if i == 13 {
			body = "RUN echo no FROM\n"
		}
		write(t, name, body)
		files = append(files, name)
	}
	var seen []string
	err := Each(context.Background(), files, Config{}, func(f *File) error {
		seen = append(seen, f.Name)
		if f.Name == files[13] {
			var re *rewrite.Error
			if !errors.As(f.Err, &re) || re.File != files[13] {
				t.Errorf("Each: %s has Err %v, want a *rewrite.Error naming it", f.Name, f.Err)
			}
			return f.Err
		}
		if f.Err != nil {
			t.Errorf("Each: %s: %v", f.Name, f.Err)
			return f.Err
		}
		if f.Result != nil || f.Analysis != nil {
			t.Errorf("Each without Rewrite or Keep: %s has Result %v, Analysis %v; want neither", f.Name, f.Result, f.Analysis)
		}
		if len(f.Refs) != 1 || !strings.HasPrefix(f.Refs[0].Reference, "docker.io/library/python:3.") {
			t.Errorf("Each: %s refs = %+v, want python", f.Name, f.Refs)
		}
		return nil
	})
	if strings.Join(seen, "\n") != strings.Join(files, "\n") {
		t.Errorf("Each visited files out of order:\n%s", strings.Join(seen, "\n"))
	}
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 || fe.Total != 60 || err.Error() != "1 of 60 file(s) failed" {
		t.Errorf("Each = %v, want 1 of 60 file(s) failed", err)
	}
}

// TestEachRewriteAndStdin checks Config.Rewrite and a Dockerfile on stdin.
func TestEachRewriteAndStdin(t *testing.T) {
	in := "FROM alpine:3.20\n"
	err := Each(context.Background(), []string{Stdin}, Config{Stdin: strings.NewReader(in), Rewrite: true, Options: rewrite.Options{Region: "us-east-1"}},
		func(f *File) error {
			if f.Err != nil {
				t.Fatalf("Each(stdin): %v", f.Err)
			}
			want := "ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\nFROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/alpine:3.20\n"
			if string(f.Data) != in || f.Result == nil || string(f.Result.Output) != want {
				t.Errorf("Each(stdin, Rewrite) = data %q, result %+v; want the rewrite %q", f.Data, f.Result, want)
			}
			return nil
		})
	if err != nil {
		t.Errorf("Each(stdin) = %v", err)
	}
}

// TestEachComposeFirst checks that a compose file's build args decide the
// image of the Dockerfile it builds, and that a Dockerfile the search did
// not name is brought in.
func TestEachComposeFirst(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write(t, "app/Dockerfile", "ARG NODE_VERSION=18\nFROM node:${NODE_VERSION}-alpine\n")
	write(t, "compose.yaml", "services:\n  app:\n    build:\n      context: app\n      args:\n        NODE_VERSION: \"22\"\n")
	var seen []string
	err := Each(context.Background(), []string{"compose.yaml"}, Config{}, func(f *File) error {
		seen = append(seen, f.Name)
		if f.Err != nil {
			t.Errorf("%s: %v", f.Name, f.Err)
		}
		if f.Name == filepath.Join("app", "Dockerfile") && (len(f.Refs) != 1 || f.Refs[0].Reference != "docker.io/library/node:22-alpine") {
			t.Errorf("app/Dockerfile refs = %+v, want node:22-alpine from the compose build args", f.Refs)
		}
		return nil
	})
	if err != nil || strings.Join(seen, " ") != "compose.yaml "+filepath.Join("app", "Dockerfile") {
		t.Errorf("Each(compose.yaml) visited %v, error %v; want the compose file, then the Dockerfile it builds", seen, err)
	}
}

// discover runs Each as mirror's discovery does, keeping the analyses.
func discover(t *testing.T, files []string, opts rewrite.Options) *Images {
	t.Helper()
	found := &Images{Keep: true}
	if err := Each(context.Background(), files, Config{Options: opts, Keep: true}, found.Visit); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return found
}

// TestRewriteParsesOnce is mirror --rewrite --pin: discovery analyses each
// Dockerfile once, and the rewrite with the digests the mirror found uses
// those analyses, parsing nothing again.
func TestRewriteParsesOnce(t *testing.T) {
	parses := countParses(t)
	dir := t.TempDir()
	var files []string
	for i := range 5 {
		name := filepath.Join(dir, fmt.Sprint(i), "Dockerfile")
		write(t, name, fmt.Sprintf("FROM python:3.%d AS build\nFROM quay.io/minio/minio:latest\nCOPY --from=build / /\n", i))
		files = append(files, name)
	}
	opts := rewrite.Options{}
	found := discover(t, files, opts)
	if got := parses.Load(); got != 5 {
		t.Fatalf("discovery parsed %d times, want 5", got)
	}
	if len(found.List) != 6 || len(found.Good) != 5 {
		t.Fatalf("discovery found %d images in %d files, want 6 in 5", len(found.List), len(found.Good))
	}
	pins := map[string]string{}
	for i, img := range found.List {
		pins[img.Source] = fmt.Sprintf("sha256:%064x", i+1)
	}
	var outputs []string
	err := Rewrite(context.Background(), found.Good, Config{Options: opts}, func(f *File) error {
		if f.Err != nil {
			return f.Err
		}
		outputs = append(outputs, string(f.Result.Output))
		return nil
	}, rewrite.WithPins(pins), rewrite.WithRegion("eu-west-3"))
	if err != nil {
		t.Fatalf("Rewrite: %v", err)
	}
	if got := parses.Load(); got != 5 {
		t.Errorf("discovery and rewrite parsed %d times, want 5 (once per file)", got)
	}
	for i, out := range outputs {
		want := fmt.Sprintf("ARG AWS_ACCOUNT_ID\nARG AWS_REGION=eu-west-3\n"+
			"FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.%d@%s AS build\n"+
			"FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/quay/minio/minio:latest@%s\nCOPY --from=build / /\n",
			i, pins[fmt.Sprintf("docker.io/library/python:3.%d", i)], pins["quay.io/minio/minio:latest"])
		if out != want {
			t.Errorf("Rewrite of file %d = %q, want %q", i, out, want)
		}
	}
	for _, f := range found.Good {
		if f.Analysis != nil {
			t.Errorf("Rewrite kept the analysis of %s after visiting it", f.Name)
		}
	}
}

// TestRewriteChangedOnDisk: a Dockerfile edited between discovery and the
// rewrite is not read again; the rewrite of what was analysed is refused
// when written, and the user's edit stays.
func TestRewriteChangedOnDisk(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "Dockerfile")
	write(t, name, "FROM python:3.12\n")
	found := discover(t, []string{name}, rewrite.Options{})
	edited := "FROM python:3.13\nRUN true\n"
	write(t, name, edited)
	var writeErr error
	err := Rewrite(context.Background(), found.Good, Config{}, func(f *File) error {
		if string(f.Data) != "FROM python:3.12\n" || !strings.Contains(string(f.Result.Output), "python:3.12") {
			t.Errorf("Rewrite read the file again: data %q, output %q", f.Data, f.Result.Output)
		}
		writeErr = rewrite.WriteFile(f.Name, f.Result.Output, rewrite.WithOriginal(f.Data))
		return writeErr
	})
	if !errors.Is(writeErr, rewrite.ErrChanged) {
		t.Errorf("writing over a file edited since discovery: %v, want %v", writeErr, rewrite.ErrChanged)
	}
	if err == nil {
		t.Error("Rewrite = nil, want the file counted as failed")
	}
	if data, _ := os.ReadFile(name); string(data) != edited {
		t.Errorf("the file holds %q, want the user's edit %q kept", data, edited)
	}
}

// TestRewriteNeedsKeep: a file visited without Keep has no analysis to
// rewrite, and says so rather than reading it again.
func TestRewriteNeedsKeep(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "Dockerfile")
	write(t, name, "FROM python:3.12\n")
	found := &Images{Keep: true}
	if err := Each(context.Background(), []string{name}, Config{}, found.Visit); err != nil {
		t.Fatal(err)
	}
	err := Rewrite(context.Background(), found.Good, Config{}, func(f *File) error { return f.Err })
	var fe *FailedError
	if !errors.As(err, &fe) || !errors.Is(found.Good[0].Err, errNotKept) {
		t.Errorf("Rewrite without Keep = %v, file error %v; want %v", err, found.Good[0].Err, errNotKept)
	}
}
