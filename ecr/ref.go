package ecr

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// source is a parsed Image.Source.
type source struct {
	canonical name.Repository // the repository the reference names
	read      name.Repository // where it is read from (a mirror, or canonical)
	tag       string
	digest    string
}

// readRef is what is read: the digest when pinned, else the tag.
func (s source) readRef() name.Reference {
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

// hideUserinfo writes u with its whole userinfo shown as [redacted]: a
// token given alone as the user (https://TOKEN@host) is as secret as a
// password, which url.URL.Redacted would still print.
func hideUserinfo(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return strings.Replace(c.String(), "://", "://[redacted]@", 1)
}

// redactURL hides the user:password@ of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// The text may still hold user:password@; keep only what follows.
		if at := strings.LastIndex(s, "@"); at >= 0 {
			return "[redacted]@" + s[at+1:]
		}
		return s
	}
	return hideUserinfo(u)
}

// canonicalRegistry maps docker.io and its aliases to the name
// go-containerregistry uses.
func canonicalRegistry(r string) string {
	switch r {
	case "docker.io", "registry-1.docker.io", "index.docker.io":
		return name.DefaultRegistry
	}
	return r
}

func parseMirror(registry, base string, insecure []string) (mirror, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return mirror{}, fmt.Errorf("registry mirror %s=%s: want http(s)://host[:port][/path]", registry, redactURL(base))
	}
	base = hideUserinfo(u)
	m := mirror{host: u.Host, scheme: u.Scheme, prefix: strings.Trim(u.Path, "/"), user: u.User}
	if u.Scheme == "http" {
		ok := isLoopback(u.Hostname())
		for _, h := range insecure {
			ok = ok || h == u.Host || h == u.Hostname()
		}
		if !ok {
			return mirror{}, fmt.Errorf("registry mirror %s=%s: plain HTTP is allowed only for loopback or insecure registries", registry, base)
		}
		m.opts = append(m.opts, name.Insecure)
	}
	return m, nil
}

func parseSource(src string, mirrors map[string]mirror, insecure map[string]bool) (source, error) {
	named, err := reference.ParseNormalizedNamed(src)
	if err != nil {
		return source{}, fmt.Errorf("parsing reference %q: %w", src, err)
	}
	var s source
	if t, ok := named.(reference.Tagged); ok {
		s.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		s.digest = d.Digest().String()
	}
	if s.tag == "" && s.digest == "" {
		return source{}, fmt.Errorf("parsing reference %q: no tag or digest", src)
	}
	domain, path := reference.Domain(named), reference.Path(named)
	s.canonical, err = name.NewRepository(domain + "/" + path)
	if err != nil {
		return source{}, fmt.Errorf("parsing reference %q: %w", src, err)
	}
	s.read = s.canonical
	// go-containerregistry reads plain HTTP by itself only from 127.0.0.1,
	// localhost and private ranges; a source on another loopback address or
	// named insecure is read as a mirror on it would be.
	if host := s.canonical.RegistryStr(); !(schemes{insecure: insecure}).forceHTTPS(host) {
		if s.read, err = name.NewRepository(domain+"/"+path, name.Insecure); err != nil {
			return source{}, fmt.Errorf("parsing reference %q: %w", src, err)
		}
	}
	if m, ok := mirrors[s.canonical.RegistryStr()]; ok {
		repo := path
		if m.prefix != "" {
			repo = m.prefix + "/" + path
		}
		s.read, err = name.NewRepository(m.host+"/"+repo, m.opts...)
		if err != nil {
			return source{}, fmt.Errorf("parsing reference %q through mirror %s: %w", src, m.host, err)
		}
	}
	return s, nil
}

// parsePlatform reads os/arch[/variant].
func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, "/") < 1 {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	return *p, nil
}
