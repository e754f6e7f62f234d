package renovate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecrbase/rewrite"
)

// TestFound reads a rewritten Dockerfile as the renovate command does: its
// ECR host becomes the aliases' host, the registries of its images get
// aliases, --prefix wins, and with platforms a package rule names the
// images.
func TestFound(t *testing.T) {
	t.Parallel()
	src := "FROM python:3.12\nFROM registry.example.org/team/app:1\n"
	res, err := rewrite.File("Dockerfile", []byte(src), rewrite.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var f Found
	if err := f.Add("Dockerfile", res.Output, res.Refs); err != nil {
		t.Fatal(err)
	}
	host := "${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com"
	if got := f.Hosts(); len(got) != 1 || got[0] != host {
		t.Fatalf("Hosts() = %q, want [%s]", got, host)
	}
	cfg := f.Config(map[string]string{"quay.io": "q"}, []string{"linux/amd64"})
	aliases := map[string]string{}
	for _, a := range cfg.Aliases {
		aliases[a.Key] = a.Value
	}
	for key, want := range map[string]string{
		host + "/docker-hub":           "docker.io",
		host + "/q":                    "quay.io",
		host + "/registry.example.org": "registry.example.org",
	} {
		if aliases[key] != want {
			t.Errorf("alias %s = %q, want %q (all: %v)", key, aliases[key], want, aliases)
		}
	}
	if len(cfg.PackageRules) != 1 || strings.Join(cfg.PackageRules[0].MatchPackageNames, " ") != "docker.io/library/python registry.example.org/team/app" {
		t.Errorf("PackageRules = %+v, want one rule naming both images", cfg.PackageRules)
	}
	if got := f.Config(nil, nil).PackageRules; len(got) != 0 {
		t.Errorf("PackageRules without platforms = %+v, want none", got)
	}
}

// TestMergeFileWrite: the merged file is written back, and not over an
// edit made after it was read.
func TestMergeFileWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "renovate.json")
	if err := os.WriteFile(path, []byte(`{"extends": ["config:recommended"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Aliases: []Alias{{"h/docker-hub", "docker.io"}}}
	m, err := MergeFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(); err != nil {
		t.Fatalf("Write: %v", err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"extends"`) || !strings.Contains(string(data), `"h/docker-hub": "docker.io"`) {
		t.Errorf("written file = %s, want the user's setting and the alias", data)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600 kept", info.Mode().Perm())
	}

	m, err = MergeFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"edited": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(); !errors.Is(err, rewrite.ErrChanged) {
		t.Errorf("Write over a newer edit = %v, want it refused", err)
	}
	if data, _ := os.ReadFile(path); string(data) != `{"edited": true}` {
		t.Errorf("file = %s, want the newer edit kept", data)
	}

	if _, err := MergeFile(filepath.Join(dir, "missing.json"), cfg); err != nil {
		t.Errorf("MergeFile(missing) = %v, want an empty configuration merged", err)
	}
	if err := os.WriteFile(path, []byte(`{broken`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := MergeFile(path, cfg); err == nil || !strings.HasPrefix(err.Error(), path+":") {
		t.Errorf("MergeFile(broken JSON) = %v, want an error naming %s", err, path)
	}
}
