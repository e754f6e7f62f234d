package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorImagesFromErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	list := filepath.Join(dir, "images.txt")
	writeFile(t, list, "# base images\npython:3.12\nBad Ref\n", 0o644)
	code, _, errOut := ecrbase(t, "", "mirror", "--region", "us-east-1", "--images-from", list)
	if code != exitUsage || !strings.Contains(errOut, list+":3: ") {
		t.Errorf("mirror --images-from (bad line 3) = %d, stderr %q; want %d naming %s:3", code, errOut, exitUsage, list)
	}
	code, _, errOut = ecrbase(t, "", "mirror", "--region", "us-east-1", "--images-from", filepath.Join(dir, "missing.txt"))
	if code != exitUsage || !strings.Contains(errOut, "missing.txt") {
		t.Errorf("mirror --images-from (missing file) = %d, stderr %q; want %d naming the file", code, errOut, exitUsage)
	}
	code, _, errOut = ecrbase(t, "python:3.12\n\tx y\n", "mirror", "--region", "us-east-1", "--images-from", "-")
	if code != exitUsage || !strings.Contains(errOut, "<stdin>:2: ") {
		t.Errorf("mirror --images-from - (bad line 2) = %d, stderr %q; want %d naming <stdin>:2", code, errOut, exitUsage)
	}
}
