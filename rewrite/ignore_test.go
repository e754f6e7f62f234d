package rewrite

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	tests := []struct {
		patterns []string
		path     string
		dir      bool
		want     bool
	}{
		{[]string{"Dockerfile.template"}, "a/b/Dockerfile.template", false, true},
		{[]string{"Dockerfile.template"}, "a/b/Dockerfile", false, false},
		{[]string{"testdata"}, "pkg/testdata", true, true},
		{[]string{"testdata"}, "pkg/testdata/x/Dockerfile", false, true},
		{[]string{"/vendor"}, "vendor", true, true},
		{[]string{"/vendor"}, "pkg/vendor", true, false},
		{[]string{"eng/dockerfile-templates"}, "eng/dockerfile-templates/x/Dockerfile", false, true},
		{[]string{"eng/dockerfile-templates"}, "src/eng/dockerfile-templates", true, false},
		{[]string{"*.tmpl.Dockerfile"}, "x/app.tmpl.Dockerfile", false, true},
		{[]string{"build/*.Dockerfile"}, "build/a.Dockerfile", false, true},
		{[]string{"build/*.Dockerfile"}, "build/sub/a.Dockerfile", false, false},
		{[]string{"build/**/*.Dockerfile"}, "build/sub/deep/a.Dockerfile", false, true},
		{[]string{"**/fixtures/"}, "a/b/fixtures", true, true},
		{[]string{"**/fixtures/"}, "a/b/fixtures/Dockerfile", false, true},
		{[]string{"fixtures/"}, "a/fixtures", false, false},
		{[]string{"Dockerfile.[ab]"}, "Dockerfile.a", false, true},
		{[]string{"Dockerfile.[!ab]"}, "Dockerfile.a", false, false},
		{[]string{"Dockerfile.?"}, "x/Dockerfile.c", false, true},
		{[]string{"*.Dockerfile", "!keep.Dockerfile"}, "keep.Dockerfile", false, false},
		{[]string{"*.Dockerfile", "!keep.Dockerfile"}, "drop.Dockerfile", false, true},
		{[]string{"# a comment", ""}, "Dockerfile", false, false},
	}
	for _, tt := range tests {
		var ig Ignore
		if err := ig.Add(base, tt.patterns...); err != nil {
			t.Fatal(err)
		}
		if got := ig.Match(filepath.Join(base, tt.path), tt.dir); got != tt.want {
			t.Errorf("Ignore%q.Match(%q, dir=%v) = %v, want %v", tt.patterns, tt.path, tt.dir, got, tt.want)
		}
	}
	var ig Ignore
	if err := ig.Add(filepath.Join(base, "sub"), "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	if ig.Match(filepath.Join(base, "Dockerfile"), false) {
		t.Errorf("a pattern of sub/ matched a file outside it")
	}
	if err := CheckIgnorePattern("Dockerfile.[ab"); err == nil {
		t.Errorf("CheckIgnorePattern(%q) = nil, want an error", "Dockerfile.[ab")
	}
}

func TestDiscoverIgnoring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "eng/templates/Dockerfile", "svc/Dockerfile.template", "svc/Dockerfile", "svc/testdata/Dockerfile"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("FROM alpine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ig Ignore
	if err := ig.Add(dir, "eng/templates/", "*.template", "testdata"); err != nil {
		t.Fatal(err)
	}
	got, err := DiscoverIgnoring([]string{dir, filepath.Join(dir, "svc/Dockerfile.template")}, &ig)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "svc/Dockerfile"), filepath.Join(dir, "svc/Dockerfile.template")}
	if !slices.Equal(got, want) {
		t.Errorf("DiscoverIgnoring = %q, want %q", got, want)
	}
}
