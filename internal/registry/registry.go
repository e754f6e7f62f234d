package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// DockerHub is the name Docker gives Docker Hub in normalised references.
const DockerHub = "docker.io"

// Normalize lower-cases a registry host and maps Docker Hub's other names
// (index.docker.io, registry-1.docker.io, registry.hub.docker.com) to
// docker.io, as Docker does.
func Normalize(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return DockerHub
	}
	return host
}

// CheckHost checks that h is a registry host with an optional port, such
// as docker.io or registry.example.com:5000.
func CheckHost(h string) error {
	if !isHost(h) {
		return fmt.Errorf("%q is not a registry host such as docker.io or registry.example.com:5000", h)
	}
	return nil
}

func isHost(h string) bool {
	host, port, hasPort := strings.Cut(h, ":")
	if hasPort && (port == "" || strings.IndexFunc(port, func(r rune) bool { return !isDigit(r) }) >= 0) {
		return false
	}
	if host == "" || strings.ContainsAny(host[:1]+host[len(host)-1:], ".-") {
		return false
	}
	return strings.IndexFunc(host, func(r rune) bool { return !isLetter(r) && !isDigit(r) && r != '.' && r != '-' }) < 0
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// ECRHost is the registry host of an ECR account and region; China regions
// are under amazonaws.com.cn.
func ECRHost(account, region string) string {
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix += ".cn"
	}
	return account + ".dkr.ecr." + region + suffix
}

var (
	// ecrHost matches private ECR registry hosts, FIPS and China included.
	ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)
	// ecrRepositoryName is the repositoryName pattern of the ECR API.
	ecrRepositoryName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// IsECRHost reports whether host is a private ECR registry.
func IsECRHost(host string) bool { return ecrHost.MatchString(strings.ToLower(host)) }

// ErrRepositoryName is returned for a name ECR would refuse as a repository.
var ErrRepositoryName = errors.New("invalid ECR repository name")

// CheckRepository checks a name against ECR's rules: 2 to 256 characters
// matching the API's repositoryName pattern.
func CheckRepository(name string) error {
	if n := len(name); n < 2 || n > 256 {
		return fmt.Errorf("%w: %q has %d characters, ECR allows 2 to 256", ErrRepositoryName, name, n)
	}
	if !ecrRepositoryName.MatchString(name) {
		return fmt.Errorf("%w: %q does not match ECR's repository-name pattern", ErrRepositoryName, name)
	}
	return nil
}

// The build arguments a rewritten Dockerfile reads the ECR host from, unless
// the user names others.
const (
	DefaultAccountArg = "AWS_ACCOUNT_ID"
	DefaultRegionArg  = "AWS_REGION"
)

// ValidArgName reports whether s can name a build argument: letters,
// digits and _, not starting with a digit.
func ValidArgName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !isLetter(c) && (i == 0 || !isDigit(c)) {
			return false
		}
	}
	return true
}

// Platform is an os/arch[/variant] platform.
type Platform struct {
	OS, Architecture, Variant string
}

// ParsePlatform reads os/arch[/variant]: two or three non-empty parts of
// lower-case letters, digits, _ and ., as in linux/amd64 or linux/arm/v7.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	ok := len(parts) == 2 || len(parts) == 3
	for _, part := range parts {
		ok = ok && part != "" && strings.IndexFunc(part, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || isDigit(r) || r == '_' || r == '.')
		}) < 0
	}
	if !ok {
		return Platform{}, fmt.Errorf("%q is not a platform such as linux/amd64 or linux/arm/v7", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// Mirror is a parsed registry-mirror entry: the registry it stands in for
// and where it is read.
type Mirror struct {
	Registry string // the normalised registry it mirrors, e.g. docker.io
	Scheme   string // http or https
	Host     string // host[:port] of the mirror
	Prefix   string // repository path prefix inside the mirror, may be empty
	// User is the URL's user:password@, which logs in to the mirror. It
	// is never printed: errors quote the URL with RedactURL.
	User *url.Userinfo
}

// ErrPlainHTTP is returned for a mirror reached over plain HTTP that is
// neither on loopback nor listed as an insecure registry.
var ErrPlainHTTP = errors.New("plain HTTP is allowed only for loopback or insecure registries")

// ParseMirror reads a registry=URL mirror entry. The URL is
// http(s)://[user:password@]host[:port][/path]; plain HTTP is allowed for
// loopback hosts and the insecure hosts listed (host or host:port). A
// user:password@ is returned in User, to log in with, and no error quotes
// it; where the URL is committed to a file, refuse it with CheckNoUser.
func ParseMirror(registry, base string, insecure []string) (Mirror, error) {
	if err := CheckHost(registry); err != nil {
		return Mirror{}, err
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return Mirror{}, fmt.Errorf("%q: want a URL such as https://mirror.example.com[/path]", RedactURL(base))
	}
	m := Mirror{Registry: Normalize(registry), Scheme: u.Scheme, Host: u.Host, Prefix: strings.Trim(u.Path, "/"), User: u.User}
	if u.Scheme == "http" && !Insecure(u.Host, insecure) {
		return Mirror{}, fmt.Errorf("%q: %w", HideUserinfo(u), ErrPlainHTTP)
	}
	return m, nil
}

// ErrUserInURL is returned by CheckNoUser.
var ErrUserInURL = errors.New("a user name in the URL: put the mirror's credentials in the Docker config file")

// CheckNoUser refuses a mirror URL with a user name, for URLs written in a
// committed file, where a password would be shared with every reader.
func CheckNoUser(base string) error {
	if u, err := url.Parse(base); err == nil && u.User != nil {
		return ErrUserInURL
	}
	return nil
}

// HideUserinfo writes u with its whole userinfo shown as [redacted]: a
// token given alone as the user (https://TOKEN@host) is as secret as a
// password, which url.URL.Redacted would still print.
func HideUserinfo(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return strings.Replace(c.String(), "://", "://[redacted]@", 1)
}

// RedactURL hides a URL's whole userinfo (user:password@ or a token alone),
// for messages.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// The text may still hold user:password@; keep only what follows.
		if at := strings.LastIndex(s, "@"); at >= 0 {
			return "[redacted]@" + s[at+1:]
		}
		return s
	}
	return HideUserinfo(u)
}

// Insecure reports whether host (host[:port]) may be spoken to over plain
// HTTP: it is on loopback, or listed in insecure by host or host:port.
func Insecure(host string, insecure []string) bool {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	if IsLoopback(hostname) {
		return true
	}
	for _, h := range insecure {
		if h == host || h == hostname {
			return true
		}
	}
	return false
}

// IsLoopback reports whether a host name (no port) is localhost or a
// loopback address.
func IsLoopback(hostname string) bool {
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(hostname, "[]"))
	return ip != nil && ip.IsLoopback()
}

// TagMutability checks an ECR tag mutability setting, in any case, and
// returns it as the API spells it: MUTABLE or IMMUTABLE.
func TagMutability(s string) (string, error) {
	switch u := strings.ToUpper(s); u {
	case "MUTABLE", "IMMUTABLE":
		return u, nil
	}
	return "", fmt.Errorf("%q: want MUTABLE or IMMUTABLE", s)
}

// CheckLifecyclePolicy checks that a lifecycle policy is a JSON object, as
// ECR's PutLifecyclePolicy requires, so that a broken file is refused before
// any repository is created.
func CheckLifecyclePolicy(text []byte) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(text, &v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

// RegionVars are the environment variables the AWS SDK reads the region
// from, in its order. Every command that shows or writes a region from the
// environment reads the same ones, so they agree with the SDK's default
// chain that mirror and build-args use.
var RegionVars = []string{"AWS_REGION", "AWS_DEFAULT_REGION"}

// EnvRegion returns the region the environment sets and the variable that
// set it, or "", "" when none does.
func EnvRegion(getenv func(string) string) (region, from string) {
	for _, v := range RegionVars {
		if r := getenv(v); r != "" {
			return r, v
		}
	}
	return "", ""
}
