package hubproxy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// SetBearer turns Docker Hub's token dance on or off. With it on, every /v2/
// request needs a bearer token: without one the proxy answers 401 with a
// challenge naming its own /token endpoint and the repository's pull scope,
// as registry-1.docker.io does. /token hands an anonymous pull token out for
// every repository:NAME:pull scope asked for (several scope parameters in one
// request are allowed, as auth.docker.io allows them), and a token opens only
// the repositories it was issued for. Token requests and challenges are
// counted (Stats.Tokens, Stats.Challenges), not as Requests.
func (p *Proxy) SetBearer(on bool) { p.bearer.Store(on) }

const tokenPrefix = "hubproxy."

// authorized serves /token and challenges, and reports whether r may go on.
func (p *Proxy) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path == "/token" {
		p.tokens.Add(1)
		var repos []string
		for _, sc := range r.URL.Query()["scope"] {
			for _, one := range strings.Split(sc, " ") {
				parts := strings.Split(one, ":")
				if len(parts) == 3 && parts[0] == "repository" && slices.Contains(strings.Split(parts[2], ","), "pull") {
					repos = append(repos, parts[1])
				}
			}
		}
		tok := tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Join(repos, " ")))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/v2/") {
		return true
	}
	repo := ""
	if k := classify(r); k != other {
		rest := strings.TrimPrefix(r.URL.Path, "/v2/")
		sep := "/manifests/"
		if k == blob {
			sep = "/blobs/"
		}
		repo = rest[:strings.LastIndex(rest, sep)]
	}
	if granted, ok := tokenRepos(r.Header.Get("Authorization")); ok && (repo == "" || slices.Contains(granted, repo)) {
		return true
	}
	p.challenges.Add(1)
	challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="registry.docker.io"`, r.Host)
	if repo != "" {
		challenge += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	return false
}

// tokenRepos returns the repositories a bearer token from /token opens.
func tokenRepos(auth string) ([]string, bool) {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return nil, false
	}
	enc, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, false
	}
	return strings.Fields(string(b)), true
}
