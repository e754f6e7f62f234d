package rewrite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
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

// NormalizeRegistry lower-cases a registry host and maps Docker Hub's legacy
// names to docker.io, as Docker does.
func NormalizeRegistry(registry string) string {
	registry = strings.ToLower(registry)
	switch registry {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return registry
}

var (
	// ecrRepositoryName is the repositoryName pattern of the ECR API.
	ecrRepositoryName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// ecrHost matches private ECR registry hosts, FIPS and China included.
	ecrHost       = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)
	nonComponent  = regexp.MustCompile(`[^a-z0-9._-]+`)
	separatorRuns = regexp.MustCompile(`[._-]{2,}`)
)

func sanitizeComponent(s string) string {
	s = nonComponent.ReplaceAllString(strings.ToLower(s), "-")
	s = separatorRuns.ReplaceAllString(s, "-")
	return strings.Trim(s, "._-")
}

// IsECRHost reports whether host is a private ECR registry.
func IsECRHost(host string) bool { return ecrHost.MatchString(strings.ToLower(host)) }

// Repository maps an image reference to the ECR repository that mirrors it:
// docker.io/library/python:3.7 becomes docker-hub/library/python. prefixes
// overrides the built-in prefix per registry; an empty prefix means none.
func Repository(ref string, prefixes map[string]string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	return repository(named, prefixes)
}

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
func ValidateRepository(name string) error {
	if n := len(name); n < 2 || n > 256 {
		return fmt.Errorf("%w: %q has %d characters, ECR allows 2 to 256", ErrRepositoryName, name, n)
	}
	if !ecrRepositoryName.MatchString(name) {
		return fmt.Errorf("%w: %q does not match ECR's repository-name pattern", ErrRepositoryName, name)
	}
	return nil
}

// Host is the registry host of an ECR account and region.
func Host(account, region string) string {
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix += ".cn"
	}
	return account + ".dkr.ecr." + region + suffix
}

// argHost is the registry host written with build arguments, for Dockerfiles.
func argHost(accountArg, regionArg string) string {
	return "${" + accountArg + "}.dkr.ecr.${" + regionArg + "}.amazonaws.com"
}
