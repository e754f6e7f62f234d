package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeSection returns the README text from the heading to the next
// heading of the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	s = s[i+len(heading)+2:]
	level := strings.Count(strings.Fields(heading)[0], "#")
	for j := 1; j <= level; j++ {
		if k := strings.Index(s, "\n"+strings.Repeat("#", j)+" "); k >= 0 {
			s = s[:k]
		}
	}
	return s
}

// codeBlocks returns the fenced blocks of a language in text.
func codeBlocks(text, lang string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPreCommitSnippets runs the README's .pre-commit-config.yaml snippets
// with the real pre-commit (Debian's) against a clone of this repository,
// the repo URL being the only change: the rev must be a commit of its
// history that has the hooks. The system hooks run the ecrbase built here;
// the golang hook makes pre-commit build ecrbase itself, which takes
// minutes, so -short leaves it out.
func TestPreCommitSnippets(t *testing.T) {
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pre-commit is not installed (apt-get install pre-commit); CI must run this test")
		}
		t.Skip("pre-commit not installed")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "ecrbase")
	gitCmd(t, tmp, "clone", "-q", "--no-local", strings.TrimSpace(string(top)), clone)
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "ecrbase"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	section := readmeSection(t, "### Pre-commit")
	blocks := codeBlocks(section, "yaml")
	if len(blocks) != 3 {
		t.Fatalf("README pre-commit section has %d yaml blocks, want 3 (system, golang, rewrite hook)", len(blocks))
	}
	// The README's other pre-commit configurations (its first screen) are
	// copies of these.
	readme, _ := os.ReadFile("README.md")
	for _, b := range codeBlocks(string(readme), "yaml") {
		if strings.HasPrefix(b, "repos:") && b != blocks[0] && b != blocks[1] {
			t.Errorf("README has a pre-commit configuration this test does not run:\n%s", b)
		}
	}
	repoLine := regexp.MustCompile(`(?m)^(\s*- repo: )\S+.*$`)
	local := func(snippet string) string {
		if !repoLine.MatchString(snippet) {
			t.Fatalf("snippet has no repo line:\n%s", snippet)
		}
		rev := regexp.MustCompile(`(?m)^\s*rev: (\S+)`).FindStringSubmatch(snippet)
		if rev == nil {
			t.Fatalf("snippet has no rev:\n%s", snippet)
		}
		if err := exec.Command("git", "-C", clone, "cat-file", "-e", rev[1]+":.pre-commit-hooks.yaml").Run(); err != nil {
			t.Fatalf("README rev %s is not a commit of this repository with .pre-commit-hooks.yaml", rev[1])
		}
		return repoLine.ReplaceAllString(snippet, "${1}"+clone)
	}

	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PRE_COMMIT_HOME="+filepath.Join(tmp, "cache"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOCACHE="+goEnv(t, "GOCACHE"))
	for _, v := range []string{"AWS_REGION", "ECRBASE_REGION"} {
		env = append(env, v+"=")
	}
	app := func(t *testing.T, config string) string {
		dir := t.TempDir()
		gitCmd(t, dir, "init", "-q", ".")
		writeFile(t, filepath.Join(dir, "services/api/Dockerfile"), plain, 0o644)
		writeFile(t, filepath.Join(dir, ".pre-commit-config.yaml"), config, 0o644)
		gitCmd(t, dir, "add", "-A")
		return dir
	}
	runPC := func(t *testing.T, dir string, args ...string) (int, string) {
		cmd := exec.Command(preCommit, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatalf("pre-commit: %v", err)
		}
		return 0, string(out)
	}

	t.Run("system", func(t *testing.T) {
		dir := app(t, local(blocks[0])+blocks[2])
		code, out := runPC(t, dir, "run", "ecrbase-check-system", "--all-files")
		if code != 1 || !strings.Contains(out, "services/api/Dockerfile") ||
			!strings.Contains(out, "run pre-commit run ecrbase-rewrite --all-files") {
			t.Fatalf("pre-commit run ecrbase-check-system = %d:\n%s", code, out)
		}
		code, out = runPC(t, dir, "run", "ecrbase-rewrite", "--all-files")
		if code != 1 || !strings.Contains(out, "files were modified by this hook") {
			t.Fatalf("pre-commit run ecrbase-rewrite (the hint) = %d:\n%s", code, out)
		}
		if got := readFile(t, filepath.Join(dir, "services/api/Dockerfile")); !strings.Contains(got, "ARG AWS_REGION=eu-west-1\n") {
			t.Errorf("the rewrite hook wrote:\n%s", got)
		}
		gitCmd(t, dir, "add", "-A")
		if code, out = runPC(t, dir, "run", "--all-files"); code != 0 {
			t.Errorf("pre-commit run --all-files after the rewrite = %d:\n%s", code, out)
		}
	})
	t.Run("golang", func(t *testing.T) {
		if testing.Short() {
			t.Skip("pre-commit builds ecrbase: minutes")
		}
		dir := app(t, local(blocks[1]))
		code, out := runPC(t, dir, "run", "--all-files")
		if code != 1 || !strings.Contains(out, "- hook id: ecrbase-check") || !strings.Contains(out, "services/api/Dockerfile") {
			t.Fatalf("pre-commit run with the golang hook = %d:\n%s", code, out)
		}
	})
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
