package rewrite

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.Dockerfile")
	link := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(target, []byte("FROM python:3.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.Dockerfile", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("FROM x\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Dockerfile is no longer a link: %v %v", fi.Mode(), err)
	}
	got, _ := os.ReadFile(target)
	fi, _ := os.Stat(target)
	if string(got) != "FROM x\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("target = %q, mode %v; want the new text, mode 0600", got, fi.Mode().Perm())
	}
}
