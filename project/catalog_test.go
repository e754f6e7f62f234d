package project

import (
	"strings"
	"testing"

	"ecrbase/ecr"
)

func TestParseCatalog(t *testing.T) {
	t.Parallel()
	in := "\ufeff# approved base images\n" +
		"python:3.12-slim\n" +
		"\n" +
		"   quay.io/minio/minio:latest   # object store\n" +
		"\t# indented comment\n" +
		"library/python:3.12-slim\n" + // the same image as line 2
		"golang@sha256:" + strings.Repeat("ab", 32) + "\r\n" +
		"ghcr.io/owner/tool"
	got, err := parseCatalog(strings.NewReader(in), "images.txt", nil)
	if err != nil {
		t.Fatalf("parseCatalog error: %v", err)
	}
	want := []ecr.Image{
		{Source: "docker.io/library/python:3.12-slim", Repository: "docker-hub/library/python"},
		{Source: "quay.io/minio/minio:latest", Repository: "quay/minio/minio"},
		{Source: "docker.io/library/golang@sha256:" + strings.Repeat("ab", 32), Repository: "docker-hub/library/golang"},
		{Source: "ghcr.io/owner/tool:latest", Repository: "github-container-registry/owner/tool"},
	}
	if len(got) != len(want) {
		t.Fatalf("parseCatalog = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseCatalog image %d = %v, want %v", i, got[i], want[i])
		}
	}

	prefixed, err := parseCatalog(strings.NewReader("python:3.12\n"), "images.txt", map[string]string{"docker.io": "mirror/hub"})
	if err != nil || len(prefixed) != 1 || prefixed[0].Repository != "mirror/hub/library/python" {
		t.Errorf("parseCatalog with a prefix = %v, %v; want repository mirror/hub/library/python", prefixed, err)
	}
}

func TestParseCatalogErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"bad reference", "python:3.12\nNot A Ref!\n", []string{"images.txt:2: "}},
		{"two per line", "python:3.12 node:22\n", []string{`images.txt:1: "python:3.12 node:22": one image reference per line`}},
		{"two bad lines", "UPPER:1\nok:1\n:tag\n", []string{"images.txt:1: ", "images.txt:3: "}},
		{"long line", "python:3.12\n" + strings.Repeat("a", maxCatalogLine+1) + "\n", []string{"images.txt:2: line longer than 4096 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCatalog(strings.NewReader(tc.in), "images.txt", nil)
			if err == nil {
				t.Fatalf("parseCatalog(%q) = %v, want an error", tc.in, got)
			}
			if got != nil {
				t.Errorf("parseCatalog(%q) returned images %v with its error; want none", tc.in, got)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("parseCatalog(%q) error = %q, want %d line(s)", tc.in, err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("parseCatalog(%q) error line %d = %q, want prefix %q", tc.in, i+1, lines[i], w)
				}
			}
		})
	}
}
