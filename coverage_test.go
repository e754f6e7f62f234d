package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ecrbase/rewrite"
)

// checkedFiles are the files named by rewrite --check's "file:line image
// why" lines, in order, each once.
func checkedFiles(out string) []string {
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		loc, _, _ := strings.Cut(line, " ")
		if i := strings.LastIndexByte(loc, ':'); i > 0 {
			loc = loc[:i]
		}
		if loc != "" && !slices.Contains(files, loc) {
			files = append(files, loc)
		}
	}
	return files
}

// TestCheckARGHeldName: rewrite --check fails on an image name held in an
// ARG, listing it as file:line image why, and passes once rewrite -w has
// pointed the ARG at ECR.
func TestCheckARGHeldName(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{
		"runtime/Dockerfile": "ARG REPO=mcr.microsoft.com/dotnet/runtime-deps\nFROM $REPO:8.0-bookworm-slim\n",
	})
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", ".")
	want := "runtime/Dockerfile:2 $REPO:8.0-bookworm-slim not pulled from ECR yet: run ecrbase rewrite -w\n"
	if code != exitChanges || out != want {
		t.Fatalf("rewrite --check = %d, %q (stderr %q), want 3, %q", code, out, errOut, want)
	}
	if code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "eu-west-1", "."); code != exitOK {
		t.Fatalf("rewrite -w = %d, stderr %q", code, errOut)
	}
	got := readFile(t, filepath.Join(dir, "runtime", "Dockerfile"))
	if !strings.Contains(got, "ARG REPO=${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/mcr.microsoft.com/dotnet/runtime-deps\n") {
		t.Errorf("rewrite -w did not point ARG REPO at ECR:\n%s", got)
	}
	if code, out, errOut := ecrbase(t, "", "rewrite", "--check", "--strict", "."); code != exitOK || out != "" {
		t.Errorf("rewrite --check --strict after rewrite -w = %d, %q (stderr %q), want 0 and nothing listed", code, out, errOut)
	}
	code, out, _ = ecrbase(t, "", "images", "--json", ".")
	var refs []rewrite.Ref
	if err := json.Unmarshal([]byte(out), &refs); err != nil || code != exitOK || len(refs) != 1 {
		t.Fatalf("images --json = %d, %q (%v)", code, out, err)
	}
	if r := refs[0]; r.Status != rewrite.StatusAlreadyECR || r.Upstream != "mcr.microsoft.com/dotnet/runtime-deps:8.0-bookworm-slim" {
		t.Errorf("images --json after the rewrite = %+v, want already-ecr mirroring mcr.microsoft.com/dotnet/runtime-deps:8.0-bookworm-slim", r)
	}
}

// TestCheckStrict: what the rewrite leaves upstream (an ARG without a
// value, a # syntax= frontend) is listed by --check, which passes; with
// --strict it exits 3. rewrite says so on stderr, and images --json too.
func TestCheckStrict(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1\nARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\n" +
			"ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nFROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/alpine:3.20\n",
	})
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", ".")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "Dockerfile:1 docker/dockerfile:1 BuildKit reads # syntax= before any build argument exists") ||
		lines[1] != "Dockerfile:5 ${BASE_IMAGE} no value for BASE_IMAGE; pass --build-arg BASE_IMAGE=..." {
		t.Fatalf("rewrite --check = %d, %q (stderr %q), want 0 listing the # syntax= line and the unresolved FROM", code, out, errOut)
	}
	code, out2, errOut := ecrbase(t, "", "rewrite", "--check", "--strict", ".")
	if code != exitChanges || out2 != out || !strings.Contains(errOut, "2 pull(s) stay upstream") {
		t.Errorf("rewrite --check --strict = %d, %q (stderr %q), want 3, the same list and a count", code, out2, errOut)
	}
	// Without --check, --strict keeps its meaning: an unresolved image is
	// an error.
	if code, _, errOut := ecrbase(t, "", "rewrite", "--strict", "Dockerfile"); code != exitError || !strings.Contains(errOut, "Dockerfile:5:") {
		t.Errorf("rewrite --strict = %d, stderr %q, want 1 naming Dockerfile:5", code, errOut)
	}
	_, _, errOut = ecrbase(t, "", "rewrite", "Dockerfile")
	if !strings.Contains(errOut, "Dockerfile:1: warning: docker/dockerfile:1 left as written") || !strings.Contains(errOut, "BUILDKIT_SYNTAX") || !strings.Contains(errOut, "--syntax=literal") {
		t.Errorf("rewrite stderr %q does not name the # syntax= line and its remedies", errOut)
	}
	_, out, _ = ecrbase(t, "", "images", "--json", "Dockerfile")
	var refs []rewrite.Ref
	if err := json.Unmarshal([]byte(out), &refs); err != nil || len(refs) == 0 {
		t.Fatalf("images --json: %q (%v)", out, err)
	}
	if r := refs[0]; r.Kind != rewrite.KindSyntax || r.Status != rewrite.StatusKept || !strings.Contains(r.Note, "BUILDKIT_SYNTAX") {
		t.Errorf("images --json gives the # syntax= image %+v, want kept with a note naming BUILDKIT_SYNTAX", r)
	}
}

// TestDiscoveryOnRealRepositories: ignore: in .ecrbase.yaml and --ignore
// skip templates; a template BuildKit rejects is reported as file:line with
// exit status 1 and stops no other file from being rewritten; a Latin-1
// comment is accepted and its bytes kept.
func TestDiscoveryOnRealRepositories(t *testing.T) {
	isolate(t)
	latin1 := "# Auteur: Ren\xe9\nFROM python:3.12\n"
	dir := newRepo(t, map[string]string{
		"eng/templates/Dockerfile": "{{ set base to \"python\" }}\nFROM {{base}}\n",
		"svc/Dockerfile":           latin1,
		"web/Dockerfile.template":  "FROM {{ .Base }}\n",
	})
	code, out, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", ".")
	if code != exitError || !strings.Contains(errOut, filepath.Join("eng", "templates", "Dockerfile")+":1: ") ||
		!strings.Contains(errOut, filepath.Join("web", "Dockerfile.template")+":1: ") {
		t.Errorf("rewrite -w . with two templates = %d, %q, stderr %q; want 1 naming each template's file:line", code, out, errOut)
	}
	got := readFile(t, filepath.Join(dir, "svc", "Dockerfile"))
	if !strings.HasPrefix(got, "# Auteur: Ren\xe9\nARG AWS_ACCOUNT_ID\n") || !strings.Contains(got, ".amazonaws.com/docker-hub/library/python:3.12\n") {
		t.Errorf("svc/Dockerfile after rewrite -w = %q: want it rewritten, its Latin-1 comment byte for byte", got)
	}
	writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nignore:\n  - eng/templates/\n", 0o644)
	isolate(t) // forget that the repository had no configuration file
	if code, out, errOut := ecrbase(t, "", "rewrite", "--check", "--ignore", "*.template", "."); code != exitOK || out != "" {
		t.Errorf("rewrite --check with ignore: and --ignore = %d, %q, stderr %q; want 0, nothing listed", code, out, errOut)
	}
	// The file's patterns are relative to the file, not to the working
	// directory.
	t.Chdir(filepath.Join(dir, "web"))
	if code, _, errOut := ecrbase(t, "", "images", ".."); code != exitError || strings.Contains(errOut, "eng") {
		t.Errorf("images .. from web/ = %d, stderr %q; want 1 for web's template only", code, errOut)
	}
	// A file named on the command line is read even when a pattern matches.
	if code, _, errOut := ecrbase(t, "", "images", "--ignore", "*.template", "Dockerfile.template"); code != exitError || !strings.Contains(errOut, "Dockerfile.template:1: ") {
		t.Errorf("images of an ignored file named explicitly = %d, stderr %q; want it read and refused", code, errOut)
	}
	if code, _, errOut := ecrbase(t, "", "images", "--ignore", "[", "."); code != exitUsage {
		t.Errorf("images --ignore [ = %d, stderr %q, want a usage error", code, errOut)
	}
}

// TestBuildArgsTranslatesImages: an image given at build time through a
// build argument is printed as its ECR copy by build-args, next to the
// account and region; other build arguments pass through.
func TestBuildArgsTranslatesImages(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		"app/Dockerfile":     "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG VERSION\n",
		"runtime/Dockerfile": "ARG REPO=mcr.microsoft.com/dotnet/runtime\nFROM $REPO:8.0\n",
	})
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	code, out, errOut := ecrbase(t, "", "build-args", "--account", "123456789012", "--region", "eu-west-1",
		"--build-arg", "BASE_IMAGE=python:3.12", "--build-arg", "REPO=mcr.microsoft.com/dotnet/aspnet", "--build-arg", "VERSION=1.2")
	want := "--build-arg AWS_ACCOUNT_ID=123456789012 --build-arg AWS_REGION=eu-west-1" +
		" --build-arg BASE_IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/python:3.12" +
		" --build-arg REPO=123456789012.dkr.ecr.eu-west-1.amazonaws.com/mcr.microsoft.com/dotnet/aspnet" +
		" --build-arg VERSION=1.2\n"
	if code != exitOK || out != want {
		t.Errorf("build-args = %d, %q (stderr %q), want %q", code, out, errOut, want)
	}
}

// TestOnBuildLiteral: --onbuild=literal writes the literal ECR URI into an
// ONBUILD trigger when the account is known, here from AWS_ACCOUNT_ID, and
// leaves it with a warning when it is not.
func TestOnBuildLiteral(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{"Dockerfile": "FROM node:20 AS base\nONBUILD COPY --from=alpine:3.20 /etc/os-release /\n"})
	code, out, errOut := ecrbase(t, "", "rewrite", "--onbuild=literal", "--region", "eu-west-1", "Dockerfile")
	if code != exitOK || !strings.Contains(out, "ONBUILD COPY --from=alpine:3.20 ") || !strings.Contains(errOut, "--onbuild=literal needs the account") {
		t.Errorf("rewrite --onbuild=literal without an account = %d, %q, stderr %q; want the trigger kept, with a warning", code, out, errOut)
	}
	t.Setenv("AWS_ACCOUNT_ID", "123456789012")
	code, out, errOut = ecrbase(t, "", "rewrite", "--onbuild=literal", "--region", "eu-west-1", "Dockerfile")
	if code != exitOK || !strings.Contains(out, "ONBUILD COPY --from=123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/alpine:3.20 /etc/os-release /\n") {
		t.Errorf("rewrite --onbuild=literal with AWS_ACCOUNT_ID = %d, %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := ecrbase(t, "", "rewrite", "--onbuild=sometimes", "Dockerfile"); code == exitOK {
		t.Errorf("rewrite --onbuild=sometimes = %d, stderr %q; want a failure", code, errOut)
	}
}
