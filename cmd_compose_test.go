package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// composeRepo lays out a repository with a Dockerfile built by a compose
// service (through build.args), an include:d file, and a broken compose
// file in another directory.
func composeRepo(t *testing.T) string {
	t.Helper()
	hookEnv(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app", "Dockerfile"), "ARG NODE_VERSION=18\nFROM node:${NODE_VERSION}-alpine\n", 0o644)
	writeFile(t, filepath.Join(dir, "compose.yaml"), `include:
  - services/db.yaml
services:
  app:
    build:
      context: app
      args:
        NODE_VERSION: "22"
  cache:
    image: redis:7 # cache
`, 0o644)
	writeFile(t, filepath.Join(dir, "services", "db.yaml"), "services:\n  db:\n    image: 'postgres:16'\n", 0o644)
	writeFile(t, filepath.Join(dir, "broken", "docker-compose.yml"), "services:\n  x:\n    image: alpine\n    imagee: typo\n", 0o644)
	t.Chdir(dir)
	return dir
}

func TestComposeImages(t *testing.T) {
	composeRepo(t)
	code, out, errOut := ecrbase(t, "", "images", "--region", "us-east-1", ".")
	if code != exitError {
		t.Errorf("images with a broken compose file = %d, want %d", code, exitError)
	}
	for _, want := range []string{
		// build.args of the service that builds app/Dockerfile resolve its ARG.
		"app/Dockerfile:2", "docker.io/library/node:22-alpine",
		"compose.yaml:10", "docker.io/library/redis:7",
		// The file include: loads is read too.
		"services/db.yaml:3", "docker.io/library/postgres:16",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("images output lacks %q:\n%s", want, out)
		}
	}
	if want := `broken/docker-compose.yml:4: services.x: unknown key "imagee"`; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
}

func TestComposeRewriteCheckAndWrite(t *testing.T) {
	dir := composeRepo(t)
	broken := readFile(t, filepath.Join(dir, "broken", "docker-compose.yml"))
	code, out, _ := ecrbase(t, "", "rewrite", "--check", "--region", "us-east-1", ".")
	if code != exitError {
		t.Errorf("rewrite --check with a broken compose file = %d, want %d", code, exitError)
	}
	for _, f := range []string{"compose.yaml", "services/db.yaml", "app/Dockerfile"} {
		if !strings.Contains(out, f) {
			t.Errorf("rewrite --check does not name %s:\n%s", f, out)
		}
	}
	os.Remove(filepath.Join(dir, "broken", "docker-compose.yml"))
	if code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", "."); code != exitOK {
		t.Fatalf("rewrite -w = %d: %s", code, errOut)
	}
	want := "    image: ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION:-us-east-1}.amazonaws.com/docker-hub/library/redis:7 # cache\n"
	if got := readFile(t, "compose.yaml"); !strings.Contains(got, want) {
		t.Errorf("compose.yaml after rewrite -w:\n%s\nwant a line %q", got, want)
	}
	if got, want := readFile(t, "services/db.yaml"), "services:\n  db:\n    image: '${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION:-us-east-1}.amazonaws.com/docker-hub/library/postgres:16'\n"; got != want {
		t.Errorf("services/db.yaml after rewrite -w = %q, want %q", got, want)
	}
	if code, out, errOut := ecrbase(t, "", "rewrite", "--check", "--region", "us-east-1", "."); code != exitOK {
		t.Errorf("rewrite --check after -w = %d: %s%s", code, out, errOut)
	}
	// The broken file was never touched.
	writeFile(t, filepath.Join(dir, "broken", "docker-compose.yml"), broken, 0o644)
	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", ".")
	if code != exitError || readFile(t, filepath.Join(dir, "broken", "docker-compose.yml")) != broken {
		t.Errorf("rewrite -w on a broken compose file = %d and changed it; stderr %s", code, errOut)
	}
}

func TestComposeBuildArgsEnv(t *testing.T) {
	composeRepo(t)
	code, out, errOut := ecrbase(t, "", "build-args", "--format", "env", "--account", "111111111016", "--region", "eu-west-1", "app")
	if code != exitOK {
		t.Fatalf("build-args --format env = %d: %s", code, errOut)
	}
	// docker compose reads these names from the environment or --env-file.
	if want := "AWS_ACCOUNT_ID=111111111016\nAWS_REGION=eu-west-1\n"; out != want {
		t.Errorf("build-args --format env = %q, want %q", out, want)
	}
}
