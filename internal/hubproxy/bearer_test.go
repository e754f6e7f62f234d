package hubproxy

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestBearer(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(up.Close)
	for _, repo := range []string{"lib/a", "lib/b"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(strings.TrimPrefix(up.URL, "http://") + "/" + repo + ":1")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(up.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.SetBearer(true)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	// No token: a challenge naming the realm and the repository's scope.
	resp, _, err := do(t, http.MethodHead, srv.URL+"/v2/lib/a/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	want := `Bearer realm="http://` + host + `/token",service="registry.docker.io",scope="repository:lib/a:pull"`
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("HEAD without token = %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}

	// One token for one scope opens that repository only.
	token := func(scopes ...string) string {
		q := url.Values{"service": {"registry.docker.io"}, "scope": scopes}
		r, err := http.Get(srv.URL + "/token?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var body struct{ Token string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Token == "" {
			t.Fatalf("token: %v %+v", err, body)
		}
		return body.Token
	}
	head := func(tok, repo string) int {
		req, _ := http.NewRequest(http.MethodHead, srv.URL+"/v2/"+repo+"/manifests/1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	a := token("repository:lib/a:pull")
	if got := head(a, "lib/a"); got != http.StatusOK {
		t.Errorf("lib/a with its token = %d", got)
	}
	if got := head(a, "lib/b"); got != http.StatusUnauthorized {
		t.Errorf("lib/b with lib/a's token = %d, want 401", got)
	}
	if got := head("forged", "lib/a"); got != http.StatusUnauthorized {
		t.Errorf("forged token = %d, want 401", got)
	}
	// Several scopes in one request, as auth.docker.io allows.
	ab := token("repository:lib/a:pull", "repository:lib/b:pull")
	if head(ab, "lib/a") != http.StatusOK || head(ab, "lib/b") != http.StatusOK {
		t.Error("a two-scope token does not open both repositories")
	}
	if got := head(token("repository:lib/b:push"), "lib/b"); got != http.StatusUnauthorized {
		t.Errorf("push-only scope = %d, want 401 (only pull is granted)", got)
	}

	// A real client does the dance by itself.
	ref, _ := name.ParseReference(host + "/lib/b:1")
	if _, err := remote.Head(ref, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatalf("go-containerregistry through the token dance: %v", err)
	}
	st := p.Stats()
	if st.Tokens != 4 || st.Challenges != 5 {
		t.Errorf("tokens %d, challenges %d; want 4 and 5 (3 asked here, 1 by the client; 4 refusals here, 1 for its ping)", st.Tokens, st.Challenges)
	}
	p.Reset()
	if st := p.Stats(); st.Tokens != 0 || st.Challenges != 0 {
		t.Errorf("after Reset: %+v", st)
	}
}
