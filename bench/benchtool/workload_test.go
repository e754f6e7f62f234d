package main

import (
	"os"
	"path/filepath"
	"testing"

	"ecrbase/rewrite"
)

func TestWorkloadShape(t *testing.T) {
	w := NewWorkload(1, 20)
	if len(w.Images) != 20 {
		t.Fatalf("NewWorkload(1, 20) has %d images, want 20", len(w.Images))
	}
	multi, shared := 0, map[string]int{}
	for _, img := range w.Images {
		if img.Bytes < 5*mib || img.Bytes > 50*mib {
			t.Errorf("%s totals %d bytes, want 5–50 MiB", img.Ref(), img.Bytes)
		}
		n := len(img.Platforms)
		if img.MultiArch {
			multi++
			if n < 3 || n > 4 {
				t.Errorf("%s has %d platforms, want 3 or 4", img.Ref(), n)
			}
		} else if n != 1 {
			t.Errorf("single-arch %s has %d platforms", img.Ref(), n)
		}
		for _, p := range img.Platforms {
			for _, l := range p.Layers {
				shared[l.Label]++
			}
		}
	}
	if multi == 0 || multi == 20 {
		t.Errorf("%d multi-arch images, want a mix", multi)
	}
	sharedLayers := 0
	for _, n := range shared {
		if n > 1 {
			sharedLayers++
		}
	}
	if sharedLayers == 0 {
		t.Error("no layer is shared between images")
	}
	if !w.Images[w.Moved].MultiArch {
		t.Errorf("moved image %s is single-arch", w.Images[w.Moved].Ref())
	}
}

func TestWorkloadDeterministic(t *testing.T) {
	a, b := NewWorkload(7, 20), NewWorkload(7, 20)
	for i := range a.Images {
		la, lb := buildLayer(7, a.Images[i].Platforms[0].Layers[0]), buildLayer(7, b.Images[i].Platforms[0].Layers[0])
		if la.digest != lb.digest {
			t.Fatalf("image %d: layer digests %s and %s from the same seed", i, la.digest, lb.digest)
		}
	}
	c := NewWorkload(8, 20)
	la, lc := buildLayer(7, a.Images[0].Platforms[0].Layers[0]), buildLayer(8, c.Images[0].Platforms[0].Layers[0])
	if la.digest == lc.digest {
		t.Error("seeds 7 and 8 give the same first layer")
	}
	v1 := a.Variant(a.Moved, 1)
	top := len(v1.Platforms[0].Layers) - 1
	if v1.Platforms[0].Layers[top].Label == a.Images[a.Moved].Platforms[0].Layers[top].Label {
		t.Error("variant 1 keeps the top layer of variant 0")
	}
}

func TestDockerfilesTree(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDockerfiles(dir, 200, 1); err != nil {
		t.Fatal(err)
	}
	files, err := rewrite.Discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 200 {
		t.Fatalf("Discover found %d Dockerfiles, want 200 (the skipped directories hold 3 more)", len(files))
	}
	changed := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rewrite.File(f, data, rewrite.Options{})
		if err != nil {
			t.Errorf("rewrite.File(%s): %v", filepath.Base(f), err)
			continue
		}
		if res.Changed {
			changed++
		}
	}
	if changed == 0 || changed == len(files) {
		t.Errorf("%d of %d files change, want some but not all", changed, len(files))
	}
}
