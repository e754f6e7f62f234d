package ecr

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"ecrbase/internal/apibridge"
	"ecrbase/internal/wan"
)

func TestBatchCheck(t *testing.T) {
	h := newHub(t)
	reg := registry.New(quiet())
	plain := httptest.NewServer(reg)
	t.Cleanup(plain.Close)
	counted := &wan.Link{} // no delay: counts the requests ecrbase sends to "ECR"
	target := httptest.NewServer(counted.Handler(reg))
	t.Cleanup(target.Close)

	bridge, err := apibridge.New(motoURL(t), plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(bridge)
	t.Cleanup(api.Close)
	cfg := motoConfig(t)
	cfg.BaseEndpoint = &api.URL

	base := uniqueRepo(t)
	var images []Image
	for i, tag := range []string{"a", "b", "c", "d"} {
		repo := base + "-one"
		if i == 3 {
			repo = base + "-two"
		}
		h.push(t, "batch:"+tag, randomImage(t, 512, 1))
		images = append(images, Image{Source: "docker.io/library/batch:" + tag, Repository: repo})
	}
	opts := append(testOptions(t, strings.TrimPrefix(target.URL, "http://"), h, nil), WithAWSConfig(cfg))
	mirror := func() *Report {
		t.Helper()
		counted.Reset()
		bridge.Calls.Store(0)
		return mustMirror(t, images, opts...)
	}

	// Cold: the repositories do not exist, the API says so, HEADs decide.
	rep := mirror()
	for _, r := range rep.Images {
		if r.Action != Copy {
			t.Errorf("cold %s: action %s, want copy", r.Source, r.Action)
		}
	}

	// Warm: one API call per repository, no registry HEAD of a tag.
	rep = mirror()
	for _, r := range rep.Images {
		if r.Action != None {
			t.Errorf("warm %s: action %s, want none", r.Source, r.Action)
		}
	}
	if n, heads := bridge.Calls.Load(), counted.ManifestHeads.Load(); n != 2 || heads != 0 {
		t.Errorf("warm run: %d BatchGetImage calls and %d manifest HEADs, want 2 and 0", n, heads)
	}

	// A tag moved upstream: the API answer shows the old digest, so it is updated.
	moved := h.push(t, "batch:b", randomImage(t, 512, 1))
	rep = mirror()
	for _, r := range rep.Images {
		want := None
		if strings.HasSuffix(r.Source, ":b") {
			want = Update
		}
		if r.Action != want {
			t.Errorf("after a move %s: action %s, want %s", r.Source, r.Action, want)
		}
	}
	if d := head(t, strings.TrimPrefix(plain.URL, "http://"), base+"-one:b"); d != moved {
		t.Errorf("ECR %s-one:b = %s, want the moved upstream %s", base, d, moved)
	}

	// IAM without ecr:BatchGetImage: denied calls (at most one per
	// repository, as the first ones run at once), then HEADs as before.
	bridge.Deny.Store(true)
	rep = mirror()
	for _, r := range rep.Images {
		if r.Action != None {
			t.Errorf("denied %s: action %s, want none", r.Source, r.Action)
		}
	}
	if n, heads := bridge.Calls.Load(), counted.ManifestHeads.Load(); n < 1 || n > 2 || heads != 4 {
		t.Errorf("denied run: %d BatchGetImage calls and %d manifest HEADs, want 1 or 2 and 4", n, heads)
	}

	// WithBatchCheck(false) never asks.
	bridge.Deny.Store(false)
	counted.Reset()
	bridge.Calls.Store(0)
	if _, err := Mirror(context.Background(), images, append(opts, WithBatchCheck(false))...); err != nil {
		t.Fatal(err)
	}
	if n := bridge.Calls.Load(); n != 0 {
		t.Errorf("WithBatchCheck(false): %d BatchGetImage calls, want 0", n)
	}
}
