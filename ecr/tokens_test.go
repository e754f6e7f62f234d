package ecr

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tokenRegistry puts a bearer-token service in front of a registry, as
// Docker Hub's auth.docker.io does: every /v2/ request needs a token that
// covers its repository, and /token grants one per request for the scope=
// parameters given.
type tokenRegistry struct {
	inner http.Handler

	mu     sync.Mutex
	grants map[string]map[string]bool // token -> repositories it may pull
	issued []string

	requests atomic.Int64 // token requests, refused ones included
	scopes   atomic.Int64 // scopes asked for, over all token requests
	bad      atomic.Int64 // malformed token requests
	// refuseMulti refuses a request with more than one scope.
	refuseMulti bool
	// firstOnly grants only the first scope of a request, as a token
	// service that ignores the others would.
	firstOnly bool
}

func (tr *tokenRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		tr.token(w, r)
		return
	}
	repo := ""
	if p := strings.TrimPrefix(r.URL.Path, "/v2/"); p != r.URL.Path {
		for _, sep := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
			if i := strings.Index(p, sep); i > 0 {
				repo = p[:i]
				break
			}
		}
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tr.mu.Lock()
	grant, ok := tr.grants[tok]
	tr.mu.Unlock()
	if !ok || (repo != "" && !grant[repo]) {
		scope := ""
		if repo != "" {
			scope = fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test-hub"%s`, r.Host, scope))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tr.inner.ServeHTTP(w, r)
}

func (tr *tokenRegistry) token(w http.ResponseWriter, r *http.Request) {
	tr.requests.Add(1)
	q := r.URL.Query()
	scopes := q["scope"]
	tr.scopes.Add(int64(len(scopes)))
	if q.Get("service") != "test-hub" {
		tr.bad.Add(1)
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	if tr.refuseMulti && len(scopes) > 1 {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"one scope per request"}]}`, http.StatusBadRequest)
		return
	}
	grant := map[string]bool{}
	for i, s := range scopes {
		parts := strings.Split(s, ":")
		if len(parts) != 3 || parts[0] != "repository" || parts[2] != "pull" {
			tr.bad.Add(1)
			http.Error(w, "bad scope "+s, http.StatusBadRequest)
			return
		}
		if i == 0 || !tr.firstOnly {
			grant[parts[1]] = true
		}
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := "tok" + hex.EncodeToString(b)
	tr.mu.Lock()
	tr.grants[tok] = grant
	tr.issued = append(tr.issued, tok)
	tr.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300})
}

func TestSharedTokens(t *testing.T) {
	src := registry.New(quiet())
	up := httptest.NewServer(src) // for pushing, without tokens
	t.Cleanup(up.Close)
	target := newRegistry(t)

	const n = 6
	base := uniqueRepo(t)
	var images []Image
	for i := range n {
		repo := fmt.Sprintf("tok%d", i)
		ref, err := name.ParseReference(strings.TrimPrefix(up.URL, "http://") + "/library/" + repo + ":1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, randomImage(t, 256, 1)); err != nil {
			t.Fatal(err)
		}
		images = append(images, Image{Source: "docker.io/library/" + repo + ":1", Repository: fmt.Sprintf("%s-%d", base, i)})
	}

	for _, tc := range []struct {
		name        string
		shared      bool
		refuseMulti bool
		firstOnly   bool
		// token requests the warm run may make, and the scopes asked
		// for in all
		wantReqs, wantScopes int64
	}{
		{name: "per repository", shared: false, wantReqs: n, wantScopes: n},
		{name: "shared", shared: true, wantReqs: 1, wantScopes: n},
		// The multi-scope request is refused: each repository logs in
		// on its own, as without sharing.
		{name: "refused", shared: true, refuseMulti: true, wantReqs: 1 + n, wantScopes: 2 * n},
		// The token covers only the first repository: each other HEAD
		// gets 401, go-containerregistry asks once more with the new
		// scope added, gets 401 again, and the check falls back.
		{name: "token does not work", shared: true, firstOnly: true, wantReqs: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &tokenRegistry{inner: src, grants: map[string]map[string]bool{},
				refuseMulti: tc.refuseMulti, firstOnly: tc.firstOnly}
			hub := httptest.NewServer(tr)
			t.Cleanup(hub.Close)
			var out lines
			opts := append(testOptions(t, target, nil, nil), WithRegistryMirror("docker.io", hub.URL),
				WithBatchCheck(false), WithSharedTokens(tc.shared), WithProgress(&out))

			// The first subtest copies; every later run is warm.
			mustMirror(t, images, opts...)
			tr.requests.Store(0)
			tr.scopes.Store(0)
			rep := mustMirror(t, images, opts...)
			for _, r := range rep.Images {
				if r.Action != None || r.SourceDigest == "" || r.SourceDigest != r.TargetDigest {
					t.Errorf("%s: action %s, source %s, ECR %s; want none and equal digests", r.Source, r.Action, r.SourceDigest, r.TargetDigest)
				}
			}
			reqs, scopes := tr.requests.Load(), tr.scopes.Load()
			t.Logf("warm run of %d repositories: %d token requests, %d scopes", n, reqs, scopes)
			if tc.wantReqs >= 0 && (reqs != tc.wantReqs || scopes != tc.wantScopes) {
				t.Errorf("warm run: %d token requests for %d scopes, want %d for %d", reqs, scopes, tc.wantReqs, tc.wantScopes)
			}
			if tc.wantReqs < 0 && reqs <= n {
				t.Errorf("warm run: %d token requests; a token that does not work should have been refreshed, then fallen back from", reqs)
			}
			if b := tr.bad.Load(); b != 0 {
				t.Errorf("%d malformed token requests", b)
			}
			js, _ := json.Marshal(rep)
			tr.mu.Lock()
			defer tr.mu.Unlock()
			for _, tok := range tr.issued {
				if strings.Contains(out.String(), tok) || strings.Contains(string(js), tok) {
					t.Errorf("a token was printed")
				}
			}
		})
	}
}

// TestSharedTokensCopy: the copies and the referrer look-ups of a cold run
// use the shared token too, so a run over n repositories asks for one
// token; when the token does not open the repositories, the copies fall
// back to their own logins and still land.
func TestSharedTokensCopy(t *testing.T) {
	src := registry.New(quiet())
	up := httptest.NewServer(src)
	t.Cleanup(up.Close)
	target := newRegistry(t)
	const n = 5
	var sources []string
	for i := range n {
		repo := fmt.Sprintf("library/cp%d", i)
		ref, err := name.ParseReference(strings.TrimPrefix(up.URL, "http://") + "/" + repo + ":1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, randomImage(t, 2048, 2)); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, "docker.io/"+repo+":1")
	}
	for _, tc := range []struct {
		name      string
		shared    bool
		firstOnly bool
		maxReqs   int64 // token requests the cold run may make
		minReqs   int64
	}{
		{name: "shared", shared: true, maxReqs: 1, minReqs: 1},
		// Without sharing, the checks, the referrer look-ups and the
		// copies each log in to every repository.
		{name: "per repository", shared: false, minReqs: n + 1, maxReqs: 1 << 30},
		{name: "token does not work", shared: true, firstOnly: true, minReqs: n + 1, maxReqs: 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &tokenRegistry{inner: src, grants: map[string]map[string]bool{}, firstOnly: tc.firstOnly}
			hub := httptest.NewServer(tr)
			t.Cleanup(hub.Close)
			base := uniqueRepo(t)
			var images []Image
			for i, s := range sources {
				images = append(images, Image{Source: s, Repository: fmt.Sprintf("%s-%d", base, i)})
			}
			opts := append(testOptions(t, target, nil, nil), WithRegistryMirror("docker.io", hub.URL),
				WithBatchCheck(false), WithSharedTokens(tc.shared))
			rep := mustMirror(t, images, opts...)
			for _, r := range rep.Images {
				if r.Action != Copy || r.SourceDigest == "" || r.SourceDigest != r.Digest {
					t.Errorf("%s: action %s, source %s, ECR %s; want copied with equal digests", r.Source, r.Action, r.SourceDigest, r.Digest)
				}
			}
			reqs := tr.requests.Load()
			t.Logf("cold run of %d repositories: %d token requests", n, reqs)
			if reqs < tc.minReqs || reqs > tc.maxReqs {
				t.Errorf("cold run: %d token requests, want %d to %d", reqs, tc.minReqs, tc.maxReqs)
			}
		})
	}
}
