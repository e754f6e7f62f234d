package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecrbase/rewrite"
)

// TestRewriteLinkOutOfTree: rewrite -w never writes through a link that
// leaves the repository, named or found in a walk, and says so on one line.
func TestRewriteLinkOutOfTree(t *testing.T) {
	isolate(t)
	outside, _ := filepath.EvalSymlinks(t.TempDir())
	target := filepath.Join(outside, "Dockerfile")
	writeFile(t, target, plain, 0o644)
	dir, _ := filepath.EvalSymlinks(newRepo(t, map[string]string{"api/Dockerfile": plain}))
	if err := os.Symlink(target, filepath.Join(dir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	want := "Dockerfile: symbolic link out of the tree, not followed: it leads to " + target + ", outside " + dir + "\n"
	for _, args := range [][]string{
		{"rewrite", "-w", "--region", "us-east-1", "Dockerfile"},
		{"rewrite", "-w", "--region", "us-east-1", "."},
	} {
		code, _, errOut := ecrbase(t, "", args...)
		if code != exitError || !strings.HasPrefix(errOut, want) {
			t.Errorf("ecrbase %q = %d, stderr %q; want %d, %q", args, code, errOut, exitError, want)
		}
	}
	if got := readFile(t, target); got != plain {
		t.Errorf("the file outside the repository was rewritten:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "api", "Dockerfile")); got != converted {
		t.Errorf("api/Dockerfile was not rewritten beside the failing link:\n%s", got)
	}
}

// TestRewriteLinkInTree: a link inside the repository is followed, and -w
// says where it led.
func TestRewriteLinkInTree(t *testing.T) {
	isolate(t)
	dir, _ := filepath.EvalSymlinks(newRepo(t, map[string]string{"shared/base.Dockerfile": plain, "api/main.go": ""}))
	if err := os.Symlink("../shared/base.Dockerfile", filepath.Join(dir, "api", "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", "api")
	want := "rewrote api/Dockerfile (a symbolic link to shared/base.Dockerfile)\n"
	if code != exitOK || errOut != want {
		t.Errorf("rewrite -w api = %d, stderr %q; want 0, %q", code, errOut, want)
	}
	if got := readFile(t, filepath.Join(dir, "shared", "base.Dockerfile")); got != converted {
		t.Errorf("shared/base.Dockerfile =\n%s", got)
	}
}

// TestRewriteReadOnly: -w refuses a read-only file with one line unless
// --force, which keeps the mode.
func TestRewriteReadOnly(t *testing.T) {
	isolate(t)
	newRepo(t, nil)
	writeFile(t, "Dockerfile", plain, 0o444)
	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", "Dockerfile")
	want := "Dockerfile: read-only file: not written (--force writes it) (mode 0444)\necrbase: 1 of 1 file(s) failed\n"
	if code != exitError || errOut != want || readFile(t, "Dockerfile") != plain {
		t.Errorf("rewrite -w (0444) = %d, stderr %q; want %d, %q and the file untouched", code, errOut, exitError, want)
	}
	code, _, errOut = ecrbase(t, "", "rewrite", "-w", "--force", "--region", "us-east-1", "Dockerfile")
	fi, _ := os.Stat("Dockerfile")
	if code != exitOK || readFile(t, "Dockerfile") != converted || fi.Mode().Perm() != 0o444 {
		t.Errorf("rewrite -w --force = %d, %q, mode %v; want 0, rewritten, 0444", code, errOut, fi.Mode().Perm())
	}
}

// TestRewriteOwnerAsRoot: -w run as root leaves another user's Dockerfile
// theirs, mode 0640 included.
func TestRewriteOwnerAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root; this one needs it")
		}
		t.Skip("needs root to chown")
	}
	isolate(t)
	newRepo(t, nil)
	writeFile(t, "Dockerfile", plain, 0o640)
	if err := os.Chown("Dockerfile", 1001, 1002); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", "Dockerfile"); code != exitOK {
		t.Fatalf("rewrite -w = %d, %s", code, errOut)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("Dockerfile", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1001 || st.Gid != 1002 || st.Mode&0o7777 != 0o640 || readFile(t, "Dockerfile") != converted {
		t.Errorf("after rewrite -w: uid %d gid %d mode %04o; want 1001 1002 0640", st.Uid, st.Gid, st.Mode&0o7777)
	}
}

// TestRewriteSpecialInputs: a FIFO and a device get one line each, at once
// (a FIFO used to block for ever, /dev/zero to exhaust memory), and so does
// standard input over the size limit.
func TestRewriteSpecialInputs(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{"Dockerfile": plain})
	if err := syscall.Mkfifo("Dockerfile.fifo", 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, out, errOut := ecrbase(t, "", "rewrite", "--check", "--region", "us-east-1", ".")
		want := "Dockerfile.fifo: a named pipe (FIFO), not a regular file\n"
		if code != exitError || !strings.HasPrefix(out, "Dockerfile:1 ") || !strings.HasPrefix(errOut, want) {
			t.Errorf("rewrite --check . = %d, stdout %q, stderr %q; want %d, Dockerfile:1 ..., %q", code, out, errOut, exitError, want)
		}
		code, _, errOut = ecrbase(t, "", "rewrite", "/dev/zero")
		if want := "/dev/zero: a device, not a regular file\n"; code != exitError || !strings.HasPrefix(errOut, want) {
			t.Errorf("rewrite /dev/zero = %d, stderr %q; want %q", code, errOut, want)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("rewrite of a FIFO or a device still running after 30s")
	}
	code, _, errOut := ecrbase(t, strings.Repeat("#", rewrite.MaxSize+1), "rewrite", "-")
	if want := "-: file too large: over 16 MiB\n"; code != exitError || !strings.HasPrefix(errOut, want) {
		t.Errorf("rewrite - (16 MiB + 1) = %d, stderr %q; want %q", code, errOut, want)
	}
}

// TestRewriteHardLink: -w refuses a file with two names instead of
// splitting them; both stay the same file.
func TestRewriteHardLink(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{"Dockerfile": plain})
	if err := os.Link("Dockerfile", "Dockerfile.copy"); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "us-east-1", "Dockerfile")
	want := "Dockerfile: hard-linked file: not written, replacing it would split the links (2 links)\n"
	var st syscall.Stat_t
	syscall.Stat("Dockerfile", &st)
	if code != exitError || !strings.HasPrefix(errOut, want) || st.Nlink != 2 || readFile(t, "Dockerfile.copy") != plain {
		t.Errorf("rewrite -w (2 links) = %d, stderr %q, nlink %d; want %d, %q, 2 links", code, errOut, st.Nlink, exitError, want)
	}
}

// TestConfigFIFO: a FIFO named .ecrbase.yaml is an error, never waited on.
func TestConfigFIFO(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{"Dockerfile": plain})
	if err := syscall.Mkfifo(".ecrbase.yaml", 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, _, errOut := ecrbase(t, "", "rewrite", "--check", "Dockerfile")
		want := "ecrbase: reading configuration .ecrbase.yaml: a named pipe (FIFO), not a regular file\n"
		if code != exitError || errOut != want {
			t.Errorf("rewrite --check = %d, stderr %q; want %d, %q", code, errOut, exitError, want)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting on a FIFO .ecrbase.yaml after 30s")
	}
}

// TestRewriteNamedDirectoryLink: a directory named through a link is
// walked.
func TestRewriteNamedDirectoryLink(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{"services/api/Dockerfile": plain})
	if err := os.Symlink("services", "svc"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", "svc")
	if code != exitChanges || !strings.HasPrefix(out, "svc/api/Dockerfile:1 ") {
		t.Errorf("rewrite --check svc = %d, stdout %q, stderr %q; want %d, svc/api/Dockerfile:1 ...", code, out, errOut, exitChanges)
	}
}

// TestErrorsQuoteExcerpts: errors and warnings on absurdly long words quote
// a bounded excerpt.
func TestErrorsQuoteExcerpts(t *testing.T) {
	isolate(t)
	long := strings.Repeat("a", 5000)
	newRepo(t, map[string]string{
		"Dockerfile":      "FROM " + long + "\n",
		"Dockerfile.warn": "FROM ${" + strings.ToUpper(long) + "}\n",
	})
	_, out, errOut := ecrbase(t, "", "rewrite", "--check", ".")
	for _, line := range strings.Split(strings.TrimSpace(out+errOut), "\n") {
		if len(line) > 1000 || strings.Contains(line, long[:201]) {
			t.Errorf("message of %d bytes: %.300s", len(line), line)
		}
	}
	if !strings.Contains(errOut, "Dockerfile:1: invalid image reference \"aaaa") || !strings.Contains(out, "Dockerfile.warn:1 ${AAAA") {
		t.Errorf("stdout = %.500s\nstderr = %.500s", out, errOut)
	}
	// Outside --check the warning is the mention, cut the same way.
	_, _, errOut = ecrbase(t, "", "rewrite", "Dockerfile.warn")
	if len(errOut) > 1000 || !strings.Contains(errOut, "Dockerfile.warn:1: warning: cannot resolve") {
		t.Errorf("rewrite Dockerfile.warn stderr = %.500s", errOut)
	}
}
