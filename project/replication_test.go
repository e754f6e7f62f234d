package project

import (
	"slices"
	"testing"

	"ecrbase/ecr"
)

// TestReplicationPrefixes: every well-known registry's prefix (docker.io's
// replaced by its own), each configured prefix trimmed of slashes, and the
// prefix of an image's registry; each once, sorted.
func TestReplicationPrefixes(t *testing.T) {
	t.Parallel()
	got := ReplicationPrefixes(map[string]string{"docker.io": "/mirror/hub/", "example.com": "ex"},
		[]ecr.Image{{Source: "registry.example.org/team/app:1"}, {Source: "docker.io/library/python:3.12"}})
	want := []string{"ecr-public", "ex", "github-container-registry", "gitlab-container-registry", "k8s", "mirror/hub", "quay", "registry.example.org"}
	if !slices.Equal(got, want) {
		t.Errorf("ReplicationPrefixes = %v, want %v", got, want)
	}
}
