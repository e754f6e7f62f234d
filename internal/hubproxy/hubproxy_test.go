package hubproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// setup starts an in-process registry holding one image (repo test/img:1)
// behind a proxy, and returns the proxy, its URL and the image's manifest
// digest and first layer digest.
func setup(t *testing.T, limit int) (p *Proxy, base, manifestDigest, layerDigest string, layerSize int64) {
	t.Helper()
	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(up.Close)
	img, err := random.Image(64<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(up.URL, "http://") + "/test/img:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	ls, _ := img.Layers()
	ld, _ := ls[0].Digest()
	layerSize, _ = ls[0].Size()

	p, err = New(up.URL, limit)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close) // runs first: held requests end
	return p, srv.URL, d.String(), ld.String(), layerSize
}

func do(t *testing.T, method, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestRateLimitHeadersCountOnlyGets(t *testing.T) {
	t.Parallel()
	p, base, _, layer, size := setup(t, 100)
	m := base + "/v2/test/img/manifests/1"

	for _, tc := range []struct {
		method, url, wantRemaining string
	}{
		{http.MethodHead, m, "100;w=21600"},
		{http.MethodGet, m, "99;w=21600"},
		{http.MethodHead, m, "99;w=21600"},
		{http.MethodGet, m, "98;w=21600"},
	} {
		resp, _, err := do(t, tc.method, tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s = %d, want 200", tc.method, tc.url, resp.StatusCode)
		}
		if got := resp.Header.Get("ratelimit-limit"); got != "100;w=21600" {
			t.Errorf("%s ratelimit-limit = %q, want %q", tc.method, got, "100;w=21600")
		}
		if got := resp.Header.Get("ratelimit-remaining"); got != tc.wantRemaining {
			t.Errorf("%s ratelimit-remaining = %q, want %q", tc.method, got, tc.wantRemaining)
		}
	}
	if _, b, err := do(t, http.MethodGet, base+"/v2/test/img/blobs/"+layer); err != nil || len(b) == 0 {
		t.Fatalf("blob GET: %d bytes, %v", len(b), err)
	}
	if _, _, err := do(t, http.MethodHead, base+"/v2/test/img/blobs/"+layer); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	want := Stats{Requests: 6, ManifestGets: 2, ManifestHeads: 2, BlobGets: 1, BlobHeads: 1, BlobBytes: size,
		Pulls: 2, Limit: 100, Remaining: 98, Fault: Fault{Mode: Normal}}
	if s != want {
		t.Errorf("Stats() = %+v, want %+v", s, want)
	}
	p.Reset()
	if s := p.Stats(); s.Requests != 0 || s.ManifestGets != 0 || s.BlobBytes != 0 || s.Remaining != 100 {
		t.Errorf("Stats() after Reset = %+v, want zero counters and 100 remaining", s)
	}
}

func TestNoHeadersWithoutLimit(t *testing.T) {
	t.Parallel()
	_, base, _, _, _ := setup(t, 0)
	resp, _, err := do(t, http.MethodGet, base+"/v2/test/img/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("ratelimit-limit"); got != "" {
		t.Errorf("ratelimit-limit = %q, want none", got)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	p, base, _, layer, size := setup(t, 100)
	m := base + "/v2/test/img/manifests/1"

	// 429 without Retry-After, only on manifest GETs.
	p.SetFault(Fault{Mode: TooManyRequests})
	resp, body, err := do(t, http.MethodGet, m)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"TOOMANYREQUESTS"`) {
		t.Errorf("GET under 429 = %d %s, want 429 TOOMANYREQUESTS", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got != "" {
		t.Errorf("Retry-After = %q, want none", got)
	}
	if resp, _, _ := do(t, http.MethodHead, m); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD under 429 = %d, want 200 (HEADs are free)", resp.StatusCode)
	}

	// 429 with Retry-After, for one answer only.
	p.SetFault(Fault{Mode: TooManyRequests, RetryAfter: 7, Times: 1})
	resp, _, _ = do(t, http.MethodGet, m)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("GET = %d Retry-After %q, want 429 Retry-After 7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _, _ = do(t, http.MethodGet, m); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after Times ran out = %d, want 200", resp.StatusCode)
	}

	// 5xx on everything, the ping included.
	p.SetFault(Fault{Mode: ServerError, Status: 502})
	for _, u := range []string{base + "/v2/", m} {
		if resp, _, _ := do(t, http.MethodHead, u); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("HEAD %s under 5xx = %d, want 502", u, resp.StatusCode)
		}
	}

	// A cut blob is shorter than its Content-Length.
	p.SetFault(Fault{Mode: Cut, CutAfter: 1000})
	_, b, err := do(t, http.MethodGet, base+"/v2/test/img/blobs/"+layer)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != 1000 {
		t.Errorf("cut blob GET read %d bytes, err %v; want 1000 bytes and %v", len(b), err, io.ErrUnexpectedEOF)
	}
	if resp, _, _ := do(t, http.MethodGet, m); resp.StatusCode != http.StatusOK {
		t.Errorf("manifest GET under cut = %d, want 200", resp.StatusCode)
	}

	p.SetFault(Fault{Mode: Normal})
	if _, b, err := do(t, http.MethodGet, base+"/v2/test/img/blobs/"+layer); err != nil || int64(len(b)) != size {
		t.Errorf("blob GET after normal: %d bytes, %v", len(b), err)
	}
}

// TestMoreFaults: the faults that hang, stall, alter answers or cut
// manifests.
func TestMoreFaults(t *testing.T) {
	t.Parallel()
	p, base, digest, layer, size := setup(t, 100)
	m := base + "/v2/test/img/manifests/1"
	short := &http.Client{Timeout: 300 * time.Millisecond}
	get := func(method, url string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(method, url, nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		resp, err := short.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	p.SetFault(Fault{Mode: Hang, Method: http.MethodHead})
	if _, _, err := get(http.MethodHead, m); err == nil {
		t.Errorf("HEAD under hang answered")
	}
	if resp, _, err := get(http.MethodGet, m); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET under a HEAD-only hang = %v, want 200", err)
	}

	p.SetFault(Fault{Mode: Stall, CutAfter: 100})
	resp, b, err := get(http.MethodGet, base+"/v2/test/img/blobs/"+layer)
	if err == nil || resp == nil || resp.StatusCode != 200 || len(b) != 100 {
		t.Errorf("stalled blob: %d bytes, err %v; want headers, 100 bytes, then silence", len(b), err)
	}

	p.SetFault(Fault{Mode: Tamper})
	resp, b, err = get(http.MethodGet, m)
	if err != nil || resp.Header.Get("Docker-Content-Digest") != digest || sha(b) == digest {
		t.Errorf("tampered GET = %v, digest header %q body %s; want the header kept and the body changed", err, resp.Header.Get("Docker-Content-Digest"), sha(b))
	}

	p.SetFault(Fault{Mode: WrongDigest})
	resp, _, _ = get(http.MethodHead, m)
	if got := resp.Header.Get("Docker-Content-Digest"); got == digest || !strings.HasPrefix(got, "sha256:") {
		t.Errorf("HEAD under wrong-digest = %q, want another digest than %s", got, digest)
	}
	if resp, b, _ := get(http.MethodGet, m); sha(b) != digest || resp.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("GET under wrong-digest changed")
	}

	p.SetFault(Fault{Mode: Corrupt, Times: 1})
	_, b, _ = get(http.MethodGet, base+"/v2/test/img/blobs/"+layer)
	_, b2, _ := get(http.MethodGet, base+"/v2/test/img/blobs/"+layer)
	if int64(len(b)) != size || sha(b) == layer || sha(b2) != layer {
		t.Errorf("corrupt once: first %s, second %s; want the first corrupt, the second %s", sha(b), sha(b2), layer)
	}

	p.SetFault(Fault{Mode: Cut, On: OnManifests, CutAfter: 10})
	if _, b, err := get(http.MethodGet, m); !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != 10 {
		t.Errorf("cut manifest: %d bytes, %v; want 10 and %v", len(b), err, io.ErrUnexpectedEOF)
	}

	p.SetFault(Fault{Mode: TooManyRequests, Bare: true, RetryAfter: 2})
	resp, b, _ = get(http.MethodGet, m)
	if resp.StatusCode != 429 || len(b) != 0 || resp.Header.Get("Ratelimit-Limit") != "" || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("bare 429 = %d %q limit %q, want 429, no body, no quota, Retry-After 2", resp.StatusCode, b, resp.Header.Get("Ratelimit-Limit"))
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestEnforcedQuota(t *testing.T) {
	t.Parallel()
	p, base, _, _, _ := setup(t, 100)
	p.SetQuota(100, 1, true)
	m := base + "/v2/test/img/manifests/1"
	if resp, _, _ := do(t, http.MethodGet, m); resp.StatusCode != http.StatusOK || resp.Header.Get("ratelimit-remaining") != "0;w=21600" {
		t.Fatalf("first GET = %d remaining %q, want 200 and 0", resp.StatusCode, resp.Header.Get("ratelimit-remaining"))
	}
	resp, body, _ := do(t, http.MethodGet, m)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "TOOMANYREQUESTS") {
		t.Errorf("second GET = %d %s, want 429 TOOMANYREQUESTS", resp.StatusCode, body)
	}
	if s := p.Stats(); s.Pulls != 1 || s.ManifestGets != 2 || s.Faults != 1 {
		t.Errorf("Stats() = %+v, want 1 pull, 2 manifest GETs, 1 fault", s)
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	p, base, _, _, _ := setup(t, 100)
	post := func(path string) (int, Stats) {
		resp, err := http.Post(base+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s Stats
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, s
	}
	if code, s := post("/_hubproxy/fault?mode=429&retry_after=3&times=2"); code != 200 || s.Fault != (Fault{Mode: TooManyRequests, RetryAfter: 3, Times: 2}) {
		t.Errorf("POST fault = %d %+v", code, s.Fault)
	}
	if code, s := post("/_hubproxy/fault?mode=cut&cut_after=10"); code != 200 || s.Fault != (Fault{Mode: Cut, CutAfter: 10}) {
		t.Errorf("POST fault cut = %d %+v", code, s.Fault)
	}
	if code, s := post("/_hubproxy/fault?mode=stall&on=manifest&method=get&cut_after=5"); code != 200 || s.Fault != (Fault{Mode: Stall, On: OnManifests, Method: http.MethodGet, CutAfter: 5}) {
		t.Errorf("POST fault stall = %d %+v", code, s.Fault)
	}
	if code, s := post("/_hubproxy/fault?mode=429&bare=true"); code != 200 || s.Fault != (Fault{Mode: TooManyRequests, Bare: true}) {
		t.Errorf("POST fault bare 429 = %d %+v", code, s.Fault)
	}
	if code, _ := post("/_hubproxy/fault?mode=cut&on=everything"); code != http.StatusBadRequest {
		t.Errorf("POST fault?on=everything = %d, want 400", code)
	}
	if code, _ := post("/_hubproxy/fault?mode=boom"); code != http.StatusBadRequest {
		t.Errorf("POST fault?mode=boom = %d, want 400", code)
	}
	if code, s := post("/_hubproxy/quota?limit=10&remaining=2&enforce=true"); code != 200 || s.Limit != 10 || s.Remaining != 2 || !s.Enforce {
		t.Errorf("POST quota = %d %+v", code, s)
	}
	if _, _, err := do(t, http.MethodHead, base+"/v2/test/img/manifests/1"); err != nil {
		t.Fatal(err)
	}
	if code, s := post("/_hubproxy/reset"); code != 200 || s.ManifestHeads != 0 || s.Remaining != 10 {
		t.Errorf("POST reset = %d %+v, want counters zero and quota refilled", code, s)
	}
	resp, err := http.Get(base + "/_hubproxy/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || p.Stats().Requests != 0 {
		t.Errorf("GET stats = %d, requests %d; control requests must not be counted", resp.StatusCode, p.Stats().Requests)
	}
}
