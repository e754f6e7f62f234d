package compose

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"ecrbase/rewrite"
)

// TestSiblingTooLarge: an override next to the compose file, read to learn
// which services build, is read within rewrite.MaxSize. A 2 GiB one used to
// be read whole: 8 s and 2 GB for rewrite --check of the file beside it.
func TestSiblingTooLarge(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "compose.yaml")
	data := []byte("services:\n  db:\n    image: postgres:16\n")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "compose.override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 31); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := File(context.Background(), name, data, Options{Options: rewrite.Options{Region: "us-east-1"}, Environ: []string{}})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refs) != 1 || res.Refs[0].Status != rewrite.StatusRewrite {
		t.Errorf("refs = %+v, want postgres:16 rewritten", res.Refs)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB for a 3-line compose file", alloc>>20)
	}
}
