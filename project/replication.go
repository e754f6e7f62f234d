package project

import (
	"slices"
	"strings"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// wellKnownRegistries are the registries whose mirrors live under ECR's
// pull-through-cache prefixes; replication covers them all by default.
var wellKnownRegistries = []string{"docker.io", "public.ecr.aws", "quay.io", "ghcr.io", "registry.k8s.io", "registry.gitlab.com"}

// ReplicationPrefixes are the repository prefixes ecrbase writes under: the
// one of each well-known registry (or its prefix in prefixes), every
// configured prefix, and the prefix of each image's own registry; sorted.
func ReplicationPrefixes(prefixes map[string]string, images []ecr.Image) []string {
	prefixOf := func(host string) string {
		host = rewrite.NormalizeRegistry(host)
		if p, ok := prefixes[host]; ok {
			return p
		}
		return rewrite.DefaultPrefix(host)
	}
	var out []string
	add := func(p string) {
		if p = strings.Trim(p, "/"); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, h := range wellKnownRegistries {
		add(prefixOf(h))
	}
	for _, p := range prefixes {
		add(p)
	}
	for _, img := range images {
		host, _, _ := strings.Cut(img.Source, "/")
		add(prefixOf(host))
	}
	slices.Sort(out)
	return out
}
