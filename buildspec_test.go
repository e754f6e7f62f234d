package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuildspecInstall runs the buildspec's install commands in a shell, as
// CodeBuild does (one shell for the phase), with a clone of this repository
// standing in for ECRBASE_GIT_URL: the first run builds the pinned commit
// into the cache folder, and a second run with no Go on PATH takes it from
// there. Both print the version of the pinned commit.
func TestBuildspecInstall(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	spec := readBuildspec(t)
	ref := spec.Env.Variables["ECRBASE_REF"]
	if err := exec.Command("git", "cat-file", "-e", ref+"^{commit}").Run(); err != nil {
		t.Fatalf("ECRBASE_REF %s is not a commit of this repository", ref)
	}
	script := "set -e\n" + strings.Join(spec.Phases["install"].Commands, "\n") + "\necho PATH=$PATH\n"
	cache := filepath.Join(t.TempDir(), "cache")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	run := func(path string) (string, time.Duration) {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "ECRBASE_REF="+ref, "ECRBASE_GIT_URL="+strings.TrimSpace(string(top)),
			"ECRBASE_CACHE="+cache, "PATH="+path)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install phase: %v\n%s", err, out)
		}
		return string(out), time.Since(start)
	}
	gitDir := filepath.Dir(mustLookPath(t, "git"))
	first, took := run(filepath.Dir(goBin) + ":" + gitDir + ":/usr/bin:/bin")
	t.Logf("install phase, ecrbase not cached: %v", took.Round(time.Millisecond))
	if !strings.Contains(first, "revision: "+ref) {
		t.Errorf("install phase's ecrbase --version does not name %s:\n%s", ref, first)
	}
	second, took := run(gitDir + ":/usr/bin:/bin")
	t.Logf("install phase, ecrbase cached: %v", took.Round(time.Millisecond))
	if !strings.Contains(second, "revision: "+ref) {
		t.Errorf("install phase with the cache and no Go did not run ecrbase:\n%s", second)
	}
	if _, err := os.Stat(filepath.Join(cache, ref, "ecrbase")); err != nil {
		t.Errorf("the binary is not in the cache folder keyed by the pin: %v", err)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
