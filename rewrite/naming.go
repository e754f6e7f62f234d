package rewrite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"

	"ecrbase/internal/registry"
)

// pullThroughPrefixes are the repository prefixes ECR's pull-through-cache
// rules use by convention, so mirrored names match what such a rule creates.
var pullThroughPrefixes = map[string]string{
	"docker.io":           "docker-hub",
	"public.ecr.aws":      "ecr-public",
	"quay.io":             "quay",
	"ghcr.io":             "github-container-registry",
	"registry.k8s.io":     "k8s",
	"registry.gitlab.com": "gitlab-container-registry",
}

// DefaultPrefix returns the built-in ECR prefix for a registry host: the
// pull-through-cache prefix for well-known registries, else the host itself,
// sanitised into a valid repository component.
func DefaultPrefix(registry string) string {
	registry = NormalizeRegistry(registry)
	if p, ok := pullThroughPrefixes[registry]; ok {
		return p
	}
	return sanitizeComponent(registry)
}

// NormalizeRegistry lower-cases a registry host and maps Docker Hub's other
// names to docker.io, as Docker does.
func NormalizeRegistry(host string) string { return registry.Normalize(host) }

var (
	nonComponent  = regexp.MustCompile(`[^a-z0-9._-]+`)
	separatorRuns = regexp.MustCompile(`[._-]{2,}`)
)

func sanitizeComponent(s string) string {
	s = nonComponent.ReplaceAllString(strings.ToLower(s), "-")
	s = separatorRuns.ReplaceAllString(s, "-")
	return strings.Trim(s, "._-")
}

// IsECRHost reports whether host is a private ECR registry.
func IsECRHost(host string) bool { return registry.IsECRHost(host) }

func repository(named reference.Named, prefixes map[string]string) (string, error) {
	domain := NormalizeRegistry(reference.Domain(named))
	prefix, ok := prefixes[domain]
	if !ok {
		prefix = DefaultPrefix(domain)
	}
	name := reference.Path(named)
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		name = prefix + "/" + name
	}
	if err := ValidateRepository(name); err != nil {
		return "", err
	}
	return name, nil
}

// Image normalises an image reference as Docker does and maps it to its ECR
// repository: python:3.7 gives docker.io/library/python:3.7 and
// docker-hub/library/python.
func Image(ref string, prefixes map[string]string) (normalized, repo string, err error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	named = reference.TagNameOnly(named)
	if repo, err = repository(named, normalizePrefixes(prefixes)); err != nil {
		return "", "", err
	}
	return named.String(), repo, nil
}

// ValidateRepository checks a name against ECR's rules: 2 to 256 characters
// matching the API's repositoryName pattern.
func ValidateRepository(name string) error { return registry.CheckRepository(name) }

// Host is the registry host of an ECR account and region.
func Host(account, region string) string { return registry.ECRHost(account, region) }

// argHost is the registry host written with build arguments, for Dockerfiles.
func argHost(accountArg, regionArg string) string {
	return registry.ECRHost("${"+accountArg+"}", "${"+regionArg+"}")
}
