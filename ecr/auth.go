package ecr

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// redactor replaces every known credential in a text with [redacted].
type redactor struct {
	mu      sync.RWMutex
	secrets []string
}

func (r *redactor) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		// Very short values would redact ordinary words; no real token is
		// this short.
		if len(s) >= 6 {
			r.secrets = append(r.secrets, s)
		}
	}
}

func (r *redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}

func (r *redactor) err(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, red: r}
}

// ecrAuth answers registry requests with basic auth AWS:<token> from
// GetAuthorizationToken and fetches a new token before the old one expires.
type ecrAuth struct {
	api      api
	account  string
	red      *redactor
	minLife  time.Duration
	now      func() time.Time
	mu       sync.Mutex
	user     string
	pass     string
	endpoint string // proxyEndpoint of the last token
	renewAt  time.Time
}

// refreshBefore is how long before expiry a token is replaced; ECR tokens
// live 12 hours.
const refreshBefore = 15 * time.Minute

func (a *ecrAuth) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a *ecrAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pass == "" || !a.now().Before(a.renewAt) {
		if err := a.refresh(ctx); err != nil {
			return nil, err
		}
	}
	return &authn.AuthConfig{Username: a.user, Password: a.pass}, nil
}

// login fetches a token and returns the registry host of its proxyEndpoint.
func (a *ecrAuth) login(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(ctx); err != nil {
		return "", err
	}
	u, err := url.Parse(a.endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("ecr GetAuthorizationToken: proxyEndpoint %q is not a URL", a.endpoint)
	}
	return u.Host, nil
}

// refresh must be called with a.mu held.
func (a *ecrAuth) refresh(ctx context.Context) error {
	in := &awsecr.GetAuthorizationTokenInput{}
	if a.account != "" {
		in.RegistryIds = []string{a.account}
	}
	out, err := a.api.GetAuthorizationToken(ctx, in)
	if err != nil {
		return a.red.err(fmt.Errorf("ecr GetAuthorizationToken: %w", err))
	}
	if len(out.AuthorizationData) == 0 {
		return fmt.Errorf("ecr GetAuthorizationToken: no authorization data")
	}
	d := out.AuthorizationData[0]
	tok := aws.ToString(d.AuthorizationToken)
	a.red.add(tok)
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		// Never wrap the decoding error: it may quote the token.
		return fmt.Errorf("ecr GetAuthorizationToken: token is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || pass == "" {
		return fmt.Errorf("ecr GetAuthorizationToken: token is not user:password")
	}
	a.red.add(pass)
	a.user, a.pass, a.endpoint = user, pass, aws.ToString(d.ProxyEndpoint)

	now := a.now()
	a.renewAt = now.Add(a.minLife)
	if d.ExpiresAt != nil {
		if at := d.ExpiresAt.Add(-refreshBefore); at.After(now) {
			a.renewAt = at
		}
		// A token that claims to be expired already (clock skew, or a
		// stand-in API) is used for minLife rather than fetched on every
		// request.
	}
	return nil
}

// envKeychain serves DOCKERHUB_USERNAME and DOCKERHUB_TOKEN to Docker Hub
// and to nothing else.
type envKeychain struct {
	getenv func(string) string
}

func (k envKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	user, tok := k.getenv("DOCKERHUB_USERNAME"), k.getenv("DOCKERHUB_TOKEN")
	if user == "" || tok == "" || r.RegistryStr() != name.DefaultRegistry {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: user, Password: tok}), nil
}

// dockerHubSecrets returns what must never be printed of the Docker Hub
// credentials in the environment.
func dockerHubSecrets(getenv func(string) string) []string {
	user, tok := getenv("DOCKERHUB_USERNAME"), getenv("DOCKERHUB_TOKEN")
	if tok == "" {
		return nil
	}
	return []string{tok, base64.StdEncoding.EncodeToString([]byte(user + ":" + tok))}
}

// redactingKeychain hands out source credentials (Docker config file,
// credential helpers, DOCKERHUB_*, WithKeychain) and makes the redactor
// hide each secret the moment it is used, so no error a registry echoes
// them in can print them.
type redactingKeychain struct {
	k   authn.Keychain
	red *redactor
}

func (k redactingKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	a, err := k.k.Resolve(r)
	if err != nil || a == nil || a == authn.Anonymous {
		return a, err
	}
	return redactingAuth{a: a, red: k.red}, nil
}

type redactingAuth struct {
	a   authn.Authenticator
	red *redactor
}

func (a redactingAuth) Authorization() (*authn.AuthConfig, error) {
	c, err := a.a.Authorization()
	if c != nil {
		a.red.add(secretsOf(c)...)
	}
	return c, err
}

// secretsOf lists what must never be printed of a credential, in every
// encoding it travels in.
func secretsOf(c *authn.AuthConfig) []string {
	var out []string
	if c.Password != "" {
		out = append(out, c.Password, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	}
	if c.Auth != "" {
		out = append(out, c.Auth)
		if raw, err := base64.StdEncoding.DecodeString(c.Auth); err == nil {
			if _, pass, ok := strings.Cut(string(raw), ":"); ok {
				out = append(out, pass)
			}
		}
	}
	return append(out, c.IdentityToken, c.RegistryToken)
}
