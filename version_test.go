package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ecrbase/internal/buildinfo"
)

func TestVersionFlag(t *testing.T) {
	code, out, _ := ecrbase(t, "", "--version")
	if code != exitOK || !strings.HasPrefix(out, "ecrbase ") || !strings.Contains(out, "\nrevision: ") || !strings.Contains(out, "\nmodified: ") {
		t.Errorf("--version = %d, %q", code, out)
	}
	code, out, _ = ecrbase(t, "", "--version", "--json")
	var v buildinfo.Info
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || v.Version == "" || v.Go == "" {
		t.Errorf("--version --json = %d, %q (%v)", code, out, err)
	}
	if code, _, errOut := ecrbase(t, "", "--json", "images"); code != exitUsage {
		t.Errorf("--json without --version = %d, %q; want %d", code, errOut, exitUsage)
	}
}

// TestVersionFromCheckout builds ecrbase from a clone of this repository
// with go build, go install and -ldflags, as users and releases do, and
// checks what --version --json says each time.
func TestVersionFromCheckout(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	if testing.Short() {
		t.Skip("builds ecrbase three times")
	}
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "src")
	gitCmd(t, tmp, "clone", "-q", "--no-local", strings.TrimSpace(string(top)), clone)
	head, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(head))

	// GOFLAGS=-buildvcs=false (set on some machines, in the environment or
	// go env -w) would hide the VCS information; this is Go's default.
	env := append(os.Environ(), "GOFLAGS=-buildvcs=auto", "GOBIN="+filepath.Join(tmp, "gobin"))
	build := func(args ...string) buildinfo.Info {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = clone, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		bin := filepath.Join(tmp, "ecrbase")
		if args[0] == "install" {
			bin = filepath.Join(tmp, "gobin", "ecrbase")
		}
		out, err := exec.Command(bin, "--version", "--json").Output()
		if err != nil {
			t.Fatalf("%s --version --json: %v", bin, err)
		}
		var v buildinfo.Info
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("--version --json: %v\n%s", err, out)
		}
		return v
	}

	for _, args := range [][]string{{"build", "-o", filepath.Join(tmp, "ecrbase"), "."}, {"install", "."}} {
		v := build(args...)
		if v.Revision != rev || v.Modified || v.Version == "dev" || !strings.Contains(v.Version, rev[:12]) && !strings.HasPrefix(v.Version, "v") {
			t.Errorf("go %s: --version = %+v, want revision %s, not modified, a version from Go's build info", args[0], v, rev)
		}
	}
	writeFile(t, filepath.Join(clone, "README.md"), "changed\n", 0o644)
	if v := build("build", "-o", filepath.Join(tmp, "ecrbase"), "."); v.Revision != rev || !v.Modified || !strings.HasSuffix(v.Version, "+dirty") {
		t.Errorf("go build of a modified tree: --version = %+v, want modified", v)
	}
	v := build("build", "-ldflags", "-X main.version=1.2.3 -X main.revision=abc123 -X main.modified=false", "-o", filepath.Join(tmp, "ecrbase"), ".")
	if v.Version != "1.2.3" || v.Revision != "abc123" || v.Modified {
		t.Errorf("go build -ldflags: --version = %+v, want the link-time values", v)
	}
}
