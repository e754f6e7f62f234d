package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestComposeDotEnvDirectory: a directory named .env is skipped, as compose
// skips it, not an error.
func TestComposeDotEnvDirectory(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{"compose.yaml": "services:\n  db:\n    image: postgres:16\n", ".env/x": ""})
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", "--region", "us-east-1", ".")
	if code != exitChanges || !strings.HasPrefix(out, "compose.yaml:3 postgres:16 ") {
		t.Errorf("rewrite --check with a .env directory in %s = %d, stdout %q, stderr %q; want %d", dir, code, out, errOut, exitChanges)
	}
}

// TestComposeLoadsSafe: the files a compose file makes compose's loader
// read (include:, extends:, the files they include, .env) follow the rules
// of every file ecrbase reads. A FIFO used to hang rewrite --check for
// ever, /dev/zero to exhaust memory, and a file out of the tree was read.
func TestComposeLoadsSafe(t *testing.T) {
	const db = "services:\n  db:\n    image: postgres:16\n"
	outside := filepath.Join(t.TempDir(), "secret.env")
	writeFile(t, outside, "TOKEN=ghp_0123456789abcdef\n", 0o600)
	for _, tc := range []struct {
		name  string
		files map[string]string
		fifo  string
		link  [2]string
		want  string
	}{
		{name: "include FIFO", files: map[string]string{"compose.yaml": "include:\n  - other.yaml\n" + db}, fifo: "other.yaml",
			want: "compose.yaml:2: include: other.yaml: a named pipe (FIFO), not a regular file\n"},
		{name: "extends FIFO", files: map[string]string{"compose.yaml": db + "    extends:\n      file: base.yaml\n      service: b\n"}, fifo: "base.yaml",
			want: "compose.yaml:5: extends: base.yaml: a named pipe (FIFO), not a regular file\n"},
		{name: "nested include FIFO", files: map[string]string{"compose.yaml": "include:\n  - sub/compose.yaml\n" + db,
			"sub/compose.yaml": "include:\n  - inner.yaml\nservices:\n  x:\n    image: redis:7\n"}, fifo: "sub/inner.yaml",
			want: "compose.yaml:2: include: inner.yaml: a named pipe (FIFO), not a regular file\n"},
		{name: "include device", files: map[string]string{"compose.yaml": "include:\n  - /dev/zero\n" + db},
			want: "compose.yaml:2: include: /dev/zero: out of the tree "},
		{name: "extends out of the tree", files: map[string]string{"compose.yaml": db + "    extends:\n      file: /etc/passwd\n      service: b\n"},
			want: "compose.yaml:5: extends: /etc/passwd: out of the tree "},
		{name: "include link out of the tree", files: map[string]string{"compose.yaml": "include:\n  - shared.yaml\n" + db}, link: [2]string{outside, "shared.yaml"},
			want: "compose.yaml:2: include: shared.yaml: symbolic link out of the tree, not followed: it leads to " + outside},
		{name: ".env link out of the tree", files: map[string]string{"compose.yaml": db}, link: [2]string{outside, ".env"},
			want: ".env: symbolic link out of the tree, not followed: it leads to " + outside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			dir := newRepo(t, tc.files)
			if tc.fifo != "" {
				if err := syscall.Mkfifo(filepath.Join(dir, tc.fifo), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.link[0] != "" {
				if err := os.Symlink(tc.link[0], filepath.Join(dir, tc.link[1])); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				code, _, errOut := ecrbase(t, "", "rewrite", "--check", "--region", "us-east-1", "compose.yaml")
				if code != exitError || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 2 {
					t.Errorf("rewrite --check = %d, stderr %q; want %d, one line starting %q", code, errOut, exitError, tc.want)
				}
				if strings.Contains(errOut, "ghp_") || strings.Contains(errOut, "root:") {
					t.Errorf("stderr quotes a file out of the tree: %q", errOut)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("rewrite --check still running after 30s")
			}
		})
	}
}
