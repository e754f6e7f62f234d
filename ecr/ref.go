package ecr

import (
	"fmt"
	"net/url"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"ecrbase/internal/registry"
)

// Image is one image to mirror.
type Image struct {
	// Source is a normalized reference with a tag and/or a digest, e.g.
	// docker.io/library/python:3.7 or
	// docker.io/library/python:3.7@sha256:... .
	Source string `json:"source"`
	// Repository is the ECR repository name, e.g. docker-hub/library/python.
	Repository string `json:"repository"`
}

// sourceRef is a parsed Image.Source: what the image is, and where it is
// read from.
type sourceRef struct {
	canonical name.Repository // the repository the reference names
	read      name.Repository // where it is read from (a mirror, or canonical)
	tag       string
	digest    string
}

// readRef is what is read: the digest when pinned, else the tag.
func (s sourceRef) readRef() name.Reference {
	if s.digest != "" {
		return s.read.Digest(s.digest)
	}
	return s.read.Tag(s.tag)
}

// mirror is a parsed WithRegistryMirror entry.
type mirror struct {
	host   string // host[:port] of the mirror
	scheme string
	prefix string // repository path prefix inside the mirror, may be empty
	opts   []name.Option
	user   *url.Userinfo // user:password@ in the URL, used to log in to the mirror
}

// redactURL hides a URL's whole userinfo for messages.
func redactURL(s string) string { return registry.RedactURL(s) }

// canonicalRegistry maps a registry host to the name go-containerregistry
// gives it: Docker Hub, by any of its names and in any case, is
// index.docker.io.
func canonicalRegistry(r string) string {
	if r = registry.Normalize(r); r == registry.DockerHub {
		return name.DefaultRegistry
	}
	return r
}

// parseMirror reads a WithRegistryMirror entry with the rule the
// configuration file is checked by.
func parseMirror(reg, base string, insecure []string) (mirror, error) {
	m, err := mirrorFrom(reg, base, insecure)
	if err != nil {
		return mirror{}, fmt.Errorf("registry mirror %s: %w", reg, err)
	}
	return m, nil
}

// mirrorFrom parses a mirror or content-source URL by
// internal/registry's rule. A user:password@ in it is kept to log in to the
// mirror, and never appears in an error.
func mirrorFrom(reg, base string, insecure []string) (mirror, error) {
	pm, err := registry.ParseMirror(reg, base, insecure)
	if err != nil {
		return mirror{}, err
	}
	m := mirror{host: pm.Host, scheme: pm.Scheme, prefix: pm.Prefix, user: pm.User}
	if pm.Scheme == "http" {
		m.opts = append(m.opts, name.Insecure)
	}
	return m, nil
}

// parseMirrors reads every WithRegistryMirror entry, keyed by the registry
// name go-containerregistry gives the images they stand in for.
func parseMirrors(mirrors map[string]string, insecure []string) (map[string]mirror, error) {
	out := make(map[string]mirror, len(mirrors))
	for reg, u := range mirrors {
		m, err := parseMirror(reg, u, insecure)
		if err != nil {
			return nil, err
		}
		out[canonicalRegistry(reg)] = m
	}
	return out, nil
}

func parseSource(src string, mirrors map[string]mirror, insecure map[string]bool) (sourceRef, error) {
	named, err := reference.ParseNormalizedNamed(src)
	if err != nil {
		return sourceRef{}, fmt.Errorf("parsing reference %q: %w", src, err)
	}
	var s sourceRef
	if t, ok := named.(reference.Tagged); ok {
		s.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		s.digest = d.Digest().String()
	}
	if s.tag == "" && s.digest == "" {
		return sourceRef{}, fmt.Errorf("parsing reference %q: no tag or digest", src)
	}
	domain, path := reference.Domain(named), reference.Path(named)
	s.canonical, err = name.NewRepository(domain + "/" + path)
	if err != nil {
		return sourceRef{}, fmt.Errorf("parsing reference %q: %w", src, err)
	}
	s.read = s.canonical
	// go-containerregistry reads plain HTTP by itself only from 127.0.0.1,
	// localhost and private ranges; a source on another loopback address or
	// named insecure is read as a mirror on it would be.
	if host := s.canonical.RegistryStr(); !(schemes{insecure: insecure}).forceHTTPS(host) {
		if s.read, err = name.NewRepository(domain+"/"+path, name.Insecure); err != nil {
			return sourceRef{}, fmt.Errorf("parsing reference %q: %w", src, err)
		}
	}
	if m, ok := mirrors[canonicalRegistry(s.canonical.RegistryStr())]; ok {
		repo := path
		if m.prefix != "" {
			repo = m.prefix + "/" + path
		}
		s.read, err = name.NewRepository(m.host+"/"+repo, m.opts...)
		if err != nil {
			return sourceRef{}, fmt.Errorf("parsing reference %q through mirror %s: %w", src, m.host, err)
		}
	}
	return s, nil
}

// parsePlatform reads os/arch[/variant] with the rule the configuration
// file is checked by.
func parsePlatform(s string) (v1.Platform, error) {
	p, err := registry.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, err
	}
	return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
}
