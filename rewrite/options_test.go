package rewrite

import (
	"slices"
	"sync"
	"testing"
)

// TestOptionsNotMutated: File normalises its options on a copy. Commands run
// File on several files at once with one Options value, so writing to the
// caller's slices or maps is a data race (go test -race) and changes what
// the caller passed.
func TestOptionsNotMutated(t *testing.T) {
	only := []string{"Docker.IO", "index.docker.io", "Quay.io"}
	exclude := []string{"*/Legacy*"}
	opts := Options{Region: "us-east-1", Only: slices.Clone(only), Exclude: slices.Clone(exclude),
		Prefixes: map[string]string{"Docker.io": "/hub/"}}
	data := []byte("FROM python:3.7\nFROM quay.io/minio/minio:latest\nFROM ghcr.io/a/b:1\n")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := File("Dockerfile", data, opts)
			if err != nil {
				t.Errorf("File: %v", err)
				return
			}
			var got []Status
			for _, r := range res.Refs {
				got = append(got, r.Status)
			}
			if want := []Status{StatusRewrite, StatusRewrite, StatusExcluded}; !slices.Equal(got, want) {
				t.Errorf("File with --only %q: statuses %v, want %v", only, got, want)
			}
		})
	}
	wg.Wait()
	if !slices.Equal(opts.Only, only) || !slices.Equal(opts.Exclude, exclude) {
		t.Errorf("File changed the caller's options: Only %q, Exclude %q; want %q, %q", opts.Only, opts.Exclude, only, exclude)
	}
	if len(opts.Prefixes) != 1 || opts.Prefixes["Docker.io"] != "/hub/" {
		t.Errorf("File changed the caller's Prefixes: %v", opts.Prefixes)
	}
}
