package main

import (
	"encoding/json"
	"fmt"
	"os"
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

// TestConfigRefusesWhatMirrorRefuses: config and mirror check mirror URLs,
// platforms, tag mutability and the lifecycle policy with one rule, from a
// flag or from the file. Neither needs AWS to refuse them.
func TestConfigRefusesWhatMirrorRefuses(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{"Dockerfile": plain, "bad-policy.json": `{"rules": [`, "policy.json": `{"rules": []}`})
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	for _, tc := range []struct {
		name string
		file string   // .ecrbase.yaml after "version: 1\n"; empty for none
		args []string // flags
		want string   // in stderr
		code int      // exit status: usage (2) for a flag value wrong in itself
	}{
		{"ftp mirror flag", "", []string{"--registry-mirror", "docker.io=ftp://mirror.example.com"}, `"ftp://mirror.example.com": want a URL`, exitUsage},
		{"http mirror flag", "", []string{"--registry-mirror", "docker.io=http://mirror.example.com"}, "plain HTTP is allowed only for loopback or insecure registries", exitError},
		{"http mirror file", "registry_mirrors:\n  docker.io: http://mirror.example.com\n", nil,
			`.ecrbase.yaml:3: registry_mirrors.docker.io: "http://mirror.example.com": plain HTTP is allowed only`, exitError},
		{"http mirror file, insecure flag elsewhere", "registry_mirrors:\n  docker.io: http://mirror.example.com\ninsecure_registries: [mirror.example.com]\n",
			[]string{"--insecure-registry", "other.example.com"}, ".ecrbase.yaml:3: registry_mirrors.docker.io", exitError},
		{"platform flag", "", []string{"--platform", "amd64"}, `"amd64" is not a platform`, exitUsage},
		{"platform flag upper case", "", []string{"--platform", "Linux/AMD64"}, `"Linux/AMD64" is not a platform`, exitUsage},
		{"mutability flag", "", []string{"--tag-mutability", "sometimes"}, `"sometimes": want MUTABLE or IMMUTABLE`, exitUsage},
		{"policy flag", "", []string{"--lifecycle-policy", "bad-policy.json"}, "--lifecycle-policy bad-policy.json: not a JSON object", exitError},
		{"policy file", "repository:\n  lifecycle_policy: bad-policy.json\n", nil, ".ecrbase.yaml:3: repository.lifecycle_policy", exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
			t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			cfg := filepath.Join(dir, ".ecrbase.yaml")
			os.Remove(cfg)
			if tc.file != "" {
				writeFile(t, cfg, "version: 1\n"+tc.file, 0o644)
			}
			for _, cmd := range [][]string{
				{"config"},
				{"mirror", "--region", "us-east-1", "--account", "123456789012", "--dry-run"},
			} {
				args := append(cmd, tc.args...)
				if cmd[0] == "mirror" {
					args = append(args, ".")
				}
				code, _, errOut := ecrbase(t, "", args...)
				if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
					t.Errorf("ecrbase %q = %d, stderr %q; want %d and one line with %q", args, code, errOut, tc.code, tc.want)
				}
			}
		})
	}
	// What both accept.
	os.Remove(filepath.Join(dir, ".ecrbase.yaml"))
	writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nregistry_mirrors:\n  Docker.io: http://mirror.example.com\ninsecure_registries: [mirror.example.com]\nplatforms: [linux/arm/v7]\nrepository:\n  tag_mutability: immutable\n  lifecycle_policy: policy.json\n", 0o644)
	isolate(t)
	if code, _, errOut := ecrbase(t, "", "config"); code != exitOK {
		t.Errorf("config with a valid file = %d, stderr %q", code, errOut)
	}
}

// TestRegionFromDefaultRegion: with only AWS_DEFAULT_REGION set, rewrite
// writes it, config shows it, and build-args prints it, as the AWS SDK
// reads it.
func TestRegionFromDefaultRegion(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{"Dockerfile": plain})
	t.Setenv("AWS_DEFAULT_REGION", "eu-north-1")
	t.Setenv("AWS_ACCOUNT_ID", "123456789012")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))

	if code, out, errOut := ecrbase(t, "", "rewrite", "Dockerfile"); code != exitOK || !strings.Contains(out, "ARG AWS_REGION=eu-north-1\n") {
		t.Errorf("rewrite = %d, %q (stderr %q); want the AWS_DEFAULT_REGION default", code, out, errOut)
	}
	code, out, errOut := ecrbase(t, "", "config", "--json")
	var cfg struct {
		Settings []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
			Env   string `json:"env"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &cfg); code != exitOK || err != nil {
		t.Fatalf("config --json = %d, %v (stderr %q)", code, err, errOut)
	}
	for _, s := range cfg.Settings {
		if s.Name == "region" && (s.Value != "eu-north-1" || s.Env != "AWS_DEFAULT_REGION") {
			t.Errorf("config: region %v from %q, want eu-north-1 from AWS_DEFAULT_REGION", s.Value, s.Env)
		}
	}
	if code, out, errOut := ecrbase(t, "", "build-args", "--format", "env"); code != exitOK || !strings.Contains(out, "AWS_REGION=eu-north-1\n") {
		t.Errorf("build-args = %d, %q (stderr %q); want AWS_REGION=eu-north-1", code, out, errOut)
	}
	// AWS_REGION comes first, as in the SDK.
	t.Setenv("AWS_REGION", "us-west-2")
	for _, args := range [][]string{{"rewrite", "Dockerfile"}, {"build-args", "--format", "env"}} {
		if code, out, _ := ecrbase(t, "", args...); code != exitOK || !strings.Contains(out, "AWS_REGION=us-west-2\n") {
			t.Errorf("ecrbase %q with both variables = %d, %q; want us-west-2", args, code, out)
		}
	}
}

// TestNoCredentials: without AWS credentials, mirror, build-args and
// replication say so in one line that says what to do, not the SDK's chain
// of providers.
func TestNoCredentials(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{"Dockerfile": plain})
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, args := range [][]string{
		{"mirror", "--region", "us-east-1", "--account", "123456789012", "--registry-mirror", "docker.io=http://127.0.0.1:1", "."},
		{"build-args", "--region", "us-east-1"},
		{"replication", "--region", "us-east-1", "--to", "eu-west-1"},
	} {
		code, out, errOut := ecrbase(t, "", args...)
		want := "ecrbase: no AWS credentials: set AWS_PROFILE"
		if code != exitError || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "IMDS") {
			t.Errorf("ecrbase %q = %d, stdout %q, stderr %q; want 1 and one line starting %q", args, code, out, errOut, want)
		}
	}
}
