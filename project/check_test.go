package project

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ecrbase/ecr"
)

// TestCheck: what --check lists, counts and concludes, and that under
// Strict a listed pull is not warned of again.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	write(t, df, "# syntax=docker/dockerfile:1\nFROM $BASE\nFROM alpine:3.20\n")
	for _, strict := range []bool{false, true} {
		chk := &Check{Strict: strict, PreCommit: strict}
		var lines []string
		var warnings int
		err := Each(context.Background(), []string{df}, Config{Rewrite: true}, func(f *File) error {
			if f.Err != nil {
				t.Fatal(f.Err)
			}
			lines = append(lines, chk.File(f)...)
			warnings += len(f.Warnings)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		hint := "run ecrbase rewrite -w"
		if strict {
			hint = "run pre-commit run ecrbase-rewrite --all-files"
		}
		want := []string{
			df + ":1 docker/dockerfile:1 ",
			df + ":2 $BASE no value for BASE",
			df + ":3 alpine:3.20 not pulled from ECR yet: " + hint,
		}
		if len(lines) != len(want) || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want[0]) }) ||
			!strings.HasPrefix(lines[1], want[1]) || lines[2] != want[2] {
			t.Errorf("Check{Strict: %v}.File lines = %q, want %q", strict, lines, want)
		}
		if wantWarnings := 0; warnings != wantWarnings {
			t.Errorf("Check{Strict: %v}: %d warnings left, want %d", strict, warnings, wantWarnings)
		}
		wantErr := "1 file(s) do not pull from ECR yet: " + hint
		if strict {
			wantErr += "; 2 pull(s) stay upstream after the rewrite (--strict)"
		}
		if err := chk.Err(); err == nil || err.Error() != wantErr {
			t.Errorf("Check{Strict: %v}.Err() = %v, want %q", strict, err, wantErr)
		}
	}
	if err := (&Check{Strict: true}).Err(); err != nil {
		t.Errorf("Check with no file = %v, want nil", err)
	}
}

func TestMirrorPlan(t *testing.T) {
	rep := &ecr.Report{Region: "eu-west-1", Images: []ecr.Result{
		{Source: "docker.io/library/alpine:3.20", Digest: "sha256:" + strings.Repeat("a", 64)},
		{Source: "docker.io/library/busybox:1", Digest: ""},
	}}
	in := "FROM alpine:3.20\n"
	for _, tc := range []struct {
		region string
		pin    bool
		want   string
	}{
		{"", false, "ARG AWS_REGION=eu-west-1\n"},
		{"us-east-1", false, "ARG AWS_REGION=us-east-1\n"},
		{"", true, "alpine:3.20@sha256:" + strings.Repeat("a", 64)},
	} {
		var got string
		err := Each(context.Background(), []string{Stdin}, Config{Stdin: strings.NewReader(in), Keep: true}, func(f *File) error {
			res, err := f.Analysis.Rewrite(MirrorPlan(rep, tc.region, tc.pin)...)
			if err != nil {
				return err
			}
			got = string(res.Output)
			return nil
		})
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("MirrorPlan(%q, pin %v) rewrote %q (%v), want it to hold %q", tc.region, tc.pin, got, err, tc.want)
		}
	}
}
