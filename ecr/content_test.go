package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
)

// copyImage copies src to dst, index or image, digests unchanged.
func copyImage(t testing.TB, src, dst string, opts ...remote.Option) {
	t.Helper()
	s, err := name.ParseReference(src)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.ParseReference(dst)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(s)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType.IsIndex() {
		idx, _ := desc.ImageIndex()
		err = remote.WriteIndex(d, idx, opts...)
	} else {
		img, _ := desc.Image()
		err = remote.Write(d, img, opts...)
	}
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

// contentSource starts a registry behind a counting proxy that sends no
// rate-limit headers, as a content source that holds the hub's images.
func newContentSource(t testing.TB) (up string, p *hubproxy.Proxy, base string) {
	t.Helper()
	up = newRegistry(t)
	p, err := hubproxy.New("http://"+up, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return up, p, s.URL
}

// TestContentSourceZeroPulls: every image a content source holds is copied
// without one GET on the hub, blobs included, and digests stay upstream's.
func TestContentSourceZeroPulls(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	csUp, cs, csURL := newContentSource(t)
	single := h.push(t, "single:1", randomImage(t, 4096, 3))
	multi := h.push(t, "multi:1", multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64/v8"))
	// Docker Hub's paths under a prefix, as on ECR Public.
	for _, rt := range []string{"single:1", "multi:1"} {
		copyImage(t, h.upstream+"/library/"+rt, csUp+"/hub/library/"+rt)
	}
	repo := uniqueRepo(t)
	images := []Image{
		{Source: "docker.io/library/single:1", Repository: repo + "/single"},
		{Source: "docker.io/library/multi:1", Repository: repo + "/multi"},
	}
	opts := append(testOptions(t, target, h, nil), WithContentSource("docker.io", csURL+"/hub"))
	hubHost := strings.TrimPrefix(h.url, "http://")
	csName := strings.TrimPrefix(csURL, "http://") + "/hub"

	// The plan finds the content source with a HEAD and needs no pull.
	h.proxy.Reset()
	plan := mustMirror(t, images, append(opts, WithDryRun(true))...)
	for _, got := range plan.Images {
		if got.ContentSource != csName || got.PullsNeeded != 0 || got.From() != csName {
			t.Errorf("plan %s: content source %q, pulls needed %d, from %q; want %s, 0", got.Source, got.ContentSource, got.PullsNeeded, got.From(), csName)
		}
	}
	if plan.PullsNeeded != 0 || plan.Pulls[hubHost] != 0 {
		t.Errorf("plan pulls needed = %d (%v), want 0", plan.PullsNeeded, plan.Pulls)
	}

	h.proxy.Reset()
	var progress lines
	rep := mustMirror(t, images, append(opts, WithProgress(&progress))...)
	if n := strings.Count(progress.String(), " source sha256:"); n != 2 || !strings.Contains(progress.String(), "from content source "+csName) {
		t.Errorf("progress has %d source lines, want 2 naming %s:\n%s", n, csName, progress.String())
	}
	if s := h.proxy.Stats(); s.Pulls != 0 || s.ManifestGets != 0 || s.BlobGets != 0 {
		t.Errorf("hub stats = %+v, want 0 manifest GETs, 0 pulls, 0 blob GETs", s)
	}
	if s := cs.Stats(); s.ManifestGets != 5 || s.BlobGets == 0 {
		t.Errorf("content source stats = %+v, want 5 manifest GETs (single, index, 3 children) and blob GETs", s)
	}
	if rep.PullsUsed != 0 || rep.Pulls[hubHost] != 0 {
		t.Errorf("report pulls used = %d, per registry %v; want 0", rep.PullsUsed, rep.Pulls)
	}
	for i, want := range []string{single, multi} {
		got := rep.Images[i]
		if got.Digest != want || head(t, target, images[i].Repository+":1") != want {
			t.Errorf("%s: digest %s, want upstream's %s", got.Source, got.Digest, want)
		}
		if len(got.Content) != 1 || got.Content[0].Registry != csName || got.Content[0].Pulls != 0 || got.Content[0].Blobs == 0 {
			t.Errorf("%s: content = %+v, want everything from %s", got.Source, got.Content, csName)
		}
	}
	if !bytes.Equal(rawManifestOf(t, h.upstream+"/library/multi:1"), rawManifestOf(t, target+"/"+repo+"/multi:1")) {
		t.Error("index bytes differ from the hub's")
	}
}

// tamperer forwards to a registry and changes the bodies of manifest or
// blob GETs by digest, so that their digest no longer matches.
type tamperer struct {
	rp        *httputil.ReverseProxy
	manifests bool
	blobs     bool
	tampered  atomic.Int64
}

func newTamperer(t testing.TB, up string, manifests, blobs bool) (*tamperer, string) {
	t.Helper()
	u, _ := url.Parse("http://" + up)
	tp := &tamperer{manifests: manifests, blobs: blobs}
	tp.rp = httputil.NewSingleHostReverseProxy(u)
	tp.rp.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		isManifest := strings.Contains(req.URL.Path, "/manifests/sha256:")
		isBlob := strings.Contains(req.URL.Path, "/blobs/sha256:")
		if req.Method != http.MethodGet || resp.StatusCode != http.StatusOK || !(isManifest && tp.manifests || isBlob && tp.blobs) {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if isManifest {
			b = append(b, ' ') // valid JSON, other digest
		} else if len(b) > 0 {
			b[len(b)-1] ^= 0xff // same size, other digest
		}
		tp.tampered.Add(1)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	s := httptest.NewServer(tp.rp)
	t.Cleanup(s.Close)
	return tp, s.URL
}

// TestContentSourceTampered: bytes that do not match the digest are
// refused with a warning, the hub supplies them instead, and ECR ends up
// with upstream's digests.
func TestContentSourceTampered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		manifests, blobs  bool
		wantPulls         int64
		wantHubBlobs      bool
		wantWarningSubstr string
		jobs              int
	}{
		{name: "manifest", manifests: true, wantPulls: 1, wantHubBlobs: true, wantWarningSubstr: "manifest", jobs: 1},
		{name: "blob", blobs: true, wantPulls: 0, wantHubBlobs: true, wantWarningSubstr: "blob", jobs: 1},
		// Blobs read at the same time all fail; the source is still
		// refused for the image with one warning.
		{name: "blobs in parallel", blobs: true, wantPulls: 0, wantHubBlobs: true, wantWarningSubstr: "blob", jobs: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newRegistry(t)
			csUp := newRegistry(t)
			digest := h.push(t, "app:1", randomImage(t, 4096, int64(1+tc.jobs)))
			copyImage(t, h.upstream+"/library/app:1", csUp+"/library/app:1")
			tp, csURL := newTamperer(t, csUp, tc.manifests, tc.blobs)
			repo := uniqueRepo(t)
			images := []Image{{Source: "docker.io/library/app:1", Repository: repo}}
			h.proxy.Reset()

			rep := mustMirror(t, images, append(testOptions(t, target, h, nil), WithContentSource("docker.io", csURL), blobJobs(tc.jobs))...)
			got := rep.Images[0]
			if n := strings.Count(strings.Join(got.Warnings, "\n"), "refused"); n != 1 {
				t.Errorf("%d warnings refusing the content source, want 1: %q", n, got.Warnings)
			}
			if got.Digest != digest || head(t, target, repo+":1") != digest {
				t.Errorf("digest = %s (ECR %s), want upstream's %s", got.Digest, head(t, target, repo+":1"), digest)
			}
			if tp.tampered.Load() == 0 {
				t.Fatal("the content source tampered with nothing: the test proves nothing")
			}
			if !strings.Contains(strings.Join(got.Warnings, "\n"), "refused") || !strings.Contains(strings.Join(got.Warnings, "\n"), tc.wantWarningSubstr) {
				t.Errorf("warnings = %q, want one refusing the content source's %s", got.Warnings, tc.wantWarningSubstr)
			}
			s := h.proxy.Stats()
			if s.Pulls != tc.wantPulls || (s.BlobGets > 0) != tc.wantHubBlobs {
				t.Errorf("hub stats = %+v, want %d pulls and blob GETs %t", s, tc.wantPulls, tc.wantHubBlobs)
			}
			// Every blob in ECR reads back with its digest.
			ref, _ := name.ParseReference(target + "/" + repo + ":1")
			img, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			for _, l := range layers {
				rc, err := l.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Errorf("reading layer back from ECR: %v", err)
				}
				rc.Close()
			}
		})
	}
}

// TestContentSourceDown: a content source that refuses connections or
// does not answer costs at most its timeout once, then is skipped for the
// rest of the run, and the hub supplies everything.
func TestContentSourceDown(t *testing.T) {
	t.Parallel()
	var slowHits atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	for name, csURL := range map[string]string{
		"refused": fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		"silent":  slow.URL,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newRegistry(t)
			var images []Image
			digests := map[string]string{}
			repo := uniqueRepo(t)
			for i := range 3 {
				tag := fmt.Sprintf("app:%d", i)
				digests[tag] = h.push(t, tag, randomImage(t, 1024, 1))
				images = append(images, Image{Source: "docker.io/library/" + tag, Repository: repo})
			}
			h.proxy.Reset()
			start := time.Now()
			rep := mustMirror(t, images, append(testOptions(t, target, h, nil),
				WithContentSource("docker.io", csURL), WithContentTimeout(300*time.Millisecond), WithJobs(1))...)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("run took %s with a dead content source, want it bounded by the 300ms timeout", d)
			}
			warnings := 0
			for i, got := range rep.Images {
				if want := digests[fmt.Sprintf("app:%d", i)]; got.Digest != want {
					t.Errorf("%s digest = %s, want %s", got.Source, got.Digest, want)
				}
				for _, w := range got.Warnings {
					if strings.Contains(w, "unreachable") {
						warnings++
					}
				}
			}
			if warnings != 1 {
				t.Errorf("%d warnings about the unreachable content source, want 1 for the run", warnings)
			}
			if s := h.proxy.Stats(); s.Pulls != 3 {
				t.Errorf("hub pulls = %d, want 3 (the hub supplies everything)", s.Pulls)
			}
			if n := slowHits.Load(); name == "silent" && n != 1 {
				t.Errorf("the silent content source got %d requests, want 1: it is skipped once it timed out", n)
			}
		})
	}
}

// TestContentSourceDockerRegistry uses the Debian docker-registry, with
// basic auth, as the content source.
func TestContentSourceDockerRegistry(t *testing.T) {
	t.Parallel()
	csHost, user, pass := realECR(t)
	h, target := newHub(t), newRegistry(t)
	digest := h.push(t, "real:1", multiArch(t, types.DockerManifestList, "linux/amd64", "linux/arm64"))
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
	copyImage(t, h.upstream+"/library/real:1", csHost+"/library/real:1", remote.WithAuth(auth))
	repo := uniqueRepo(t)
	h.proxy.Reset()
	rep := mustMirror(t, []Image{{Source: "docker.io/library/real:1", Repository: repo}}, append(testOptions(t, target, h, nil),
		WithContentSource("docker.io", "http://"+csHost), WithKeychain(hostKeychain{csHost, user, pass}))...)
	if got := rep.Images[0]; got.Digest != digest || head(t, target, repo+":1") != digest || got.From() != csHost {
		t.Errorf("digest %s from %q, want %s from %s", got.Digest, got.From(), digest, csHost)
	}
	if s := h.proxy.Stats(); s.Pulls != 0 || s.BlobGets != 0 {
		t.Errorf("hub stats = %+v, want no pull and no blob GET", s)
	}
}

// TestReferrersCopied: a cosign signature tag and an OCI referrer of the
// mirrored image arrive in ECR, from a source with the referrers API and
// from one with only its tag schema. Copying the same digest again finds
// them in ECR and spends no pull on them.
func TestReferrersCopied(t *testing.T) {
	t.Parallel()
	for name, api := range map[string]bool{"referrers-api": true, "tag-schema": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			up := httptest.NewServer(registry.New(quiet(), registry.WithReferrersSupport(api)))
			t.Cleanup(up.Close)
			p, err := hubproxy.New(up.URL, hubproxy.DefaultLimit)
			if err != nil {
				t.Fatal(err)
			}
			ps := httptest.NewServer(p)
			t.Cleanup(ps.Close)
			h := &hub{upstream: strings.TrimPrefix(up.URL, "http://"), proxy: p, url: ps.URL}
			target := newRegistry(t)

			img := randomImage(t, 2048, 2)
			digest := h.push(t, "signed:1", img)
			h.push(t, "signed:2", img)
			dh, _ := v1.NewHash(digest)
			sig := h.push(t, "signed:sha256-"+dh.Hex+".sig", randomImage(t, 128, 1))

			desc, err := remote.Head(mustRef(t, h.upstream+"/library/signed:1"))
			if err != nil {
				t.Fatal(err)
			}
			sbom := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.example.sbom")
			sbom, err = mutate.Append(sbom, mutate.Addendum{Layer: randomImageLayer(t), MediaType: "application/vnd.example.sbom.layer"})
			if err != nil {
				t.Fatal(err)
			}
			sbom = mutate.Subject(sbom, *desc).(v1.Image)
			sd, _ := sbom.Digest()
			if err := remote.Write(mustRef(t, h.upstream+"/library/signed@"+sd.String()), sbom); err != nil {
				t.Fatal(err)
			}

			repo := uniqueRepo(t)
			// image + signature + referrer (+ the tag-schema index).
			wantPulls := int64(3)
			if !api {
				wantPulls = 4
			}
			// The plan counts the referrers with free requests: the dry
			// run's figure is what the copy spends, and only the tag-schema
			// index, whose entries show once it is read, makes it an
			// estimate.
			h.proxy.Reset()
			dry := mustMirror(t, []Image{{Source: "docker.io/library/signed:1", Repository: repo}}, append(testOptions(t, target, h, nil), WithDryRun(true))...)
			if d := dry.Images[0]; d.PullsNeeded != int(wantPulls) || d.PullsEstimate != !api || dry.PullsNeeded != int(wantPulls) {
				t.Errorf("dry run: pulls needed %d (report %d), estimate %v; want %d, estimate %v", d.PullsNeeded, dry.PullsNeeded, d.PullsEstimate, wantPulls, !api)
			}
			if s := h.proxy.Stats(); s.Pulls != 0 {
				t.Errorf("dry run spent %d counted pulls", s.Pulls)
			}
			h.proxy.Reset()
			rep := mustMirror(t, []Image{{Source: "docker.io/library/signed:1", Repository: repo}}, testOptions(t, target, h, nil)...)
			got := rep.Images[0]
			if got.PullsNeeded != got.PullsUsed {
				t.Errorf("pulls needed %d, used %d", got.PullsNeeded, got.PullsUsed)
			}
			if d := head(t, target, repo+":sha256-"+dh.Hex+".sig"); d != sig {
				t.Errorf("ECR signature tag = %q, want %s", d, sig)
			}
			refs, err := remote.Referrers(mustRef(t, target+"/"+repo+"@"+digest).Context().Digest(digest))
			if err != nil {
				t.Fatal(err)
			}
			im, _ := refs.IndexManifest()
			if len(im.Manifests) != 1 || im.Manifests[0].Digest != sd {
				t.Errorf("ECR referrers of %s = %+v, want %s", digest, im.Manifests, sd)
			}
			copied := 0
			for _, r := range got.Referrers {
				if r.Action == "copied" {
					copied++
				}
			}
			if copied != 2 || len(got.Warnings) != 0 {
				t.Errorf("referrers = %+v, warnings %q; want 2 copied, no warning", got.Referrers, got.Warnings)
			}
			if s := h.proxy.Stats(); s.Pulls != wantPulls || got.PullsUsed != int(wantPulls) {
				t.Errorf("pulls = %d (report %d), want %d", s.Pulls, got.PullsUsed, wantPulls)
			}

			// The same digest under another tag: ECR has the referrers, and
			// the plan knows it.
			h.proxy.Reset()
			dry = mustMirror(t, []Image{{Source: "docker.io/library/signed:2", Repository: repo}}, append(testOptions(t, target, h, nil), WithDryRun(true))...)
			if d := dry.Images[0]; d.PullsNeeded != 1 || d.PullsEstimate {
				t.Errorf("second dry run: pulls needed %d, estimate %v; want 1, exact", d.PullsNeeded, d.PullsEstimate)
			}
			rep = mustMirror(t, []Image{{Source: "docker.io/library/signed:2", Repository: repo}}, testOptions(t, target, h, nil)...)
			for _, r := range rep.Images[0].Referrers {
				if r.Action != "present" {
					t.Errorf("second copy: referrer %+v, want present", r)
				}
			}
			if s := h.proxy.Stats(); s.Pulls != 1 {
				t.Errorf("second copy: %d pulls, want 1 (the image's manifest only)", s.Pulls)
			}

			// Warm: an up-to-date image costs no request for its referrers.
			h.proxy.Reset()
			rep = mustMirror(t, []Image{{Source: "docker.io/library/signed:1", Repository: repo}}, testOptions(t, target, h, nil)...)
			// The registry's /v2/ ping and the tag's HEAD: no referrer looked for.
			if s := h.proxy.Stats(); rep.Images[0].Action != None || s.Pulls != 0 || s.ManifestHeads != 1 || s.Requests != 2 {
				t.Errorf("warm run: action %s, %d pulls, %d manifest HEADs, %d requests; want none, 0, 1, 2",
					rep.Images[0].Action, s.Pulls, s.ManifestHeads, s.Requests)
			}

			// --no-referrers copies the image alone.
			repo2 := repo + "-bare"
			rep = mustMirror(t, []Image{{Source: "docker.io/library/signed:1", Repository: repo2}}, append(testOptions(t, target, h, nil), WithNoReferrers(true))...)
			if len(rep.Images[0].Referrers) != 0 || head(t, target, repo2+":sha256-"+dh.Hex+".sig") != "" {
				t.Errorf("no-referrers run copied referrers: %+v", rep.Images[0].Referrers)
			}
		})
	}
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImageLayer(t testing.TB) v1.Layer {
	t.Helper()
	ls, err := randomImage(t, 256, 1).Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls[0]
}

// TestPlatformSubsetAttestations: a subset keeps the attestation manifests
// of the platforms it keeps and drops the others, and says so.
func TestPlatformSubsetAttestations(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	platforms := map[string]v1.Hash{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		pl, _ := v1.ParsePlatform(p)
		img := randomImage(t, 1024, 1)
		d, _ := img.Digest()
		platforms[p] = d
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		adds = append(adds, mutate.IndexAddendum{Add: randomImage(t, 256, 1), Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				annotationRefType:   attestationManifest,
				annotationRefDigest: platforms[p].String(),
			},
		}})
	}
	h.push(t, "att:1", mutate.AppendManifests(idx, adds...))
	repo := uniqueRepo(t)
	rep := mustMirror(t, []Image{{Source: "docker.io/library/att:1", Repository: repo}},
		append(testOptions(t, target, h, nil), WithPlatforms("linux/arm64"))...)
	got := rep.Images[0]
	if got.PullsNeeded != 2 || !got.PullsEstimate || got.PullsUsed != 3 {
		t.Errorf("pulls needed %d (estimate %t), used %d; want an estimate of 2, and 3 used (index, arm64, its attestation)", got.PullsNeeded, got.PullsEstimate, got.PullsUsed)
	}
	if got.AttestationsKept != 1 || got.AttestationsDropped != 1 {
		t.Errorf("attestations kept %d dropped %d, want 1 and 1", got.AttestationsKept, got.AttestationsDropped)
	}
	if !strings.Contains(strings.Join(got.Warnings, "\n"), "dropped 1") {
		t.Errorf("warnings = %q, want one about the dropped attestation", got.Warnings)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(rawManifestOf(t, target+"/"+repo+":1"), &im); err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[0].Digest != platforms["linux/arm64"] || im.Manifests[1].Annotations[annotationRefDigest] != platforms["linux/arm64"].String() {
		t.Fatalf("subset index = %+v, want arm64 and its attestation", im.Manifests)
	}
	// The attestation manifest is in ECR too.
	if d := head(t, target, repo+"@"+im.Manifests[1].Digest.String()); d == "" {
		t.Errorf("attestation manifest %s missing in ECR", im.Manifests[1].Digest)
	}
}

// TestContentSourceDefaults: the defaults apply to Docker Hub read
// directly, never when a registry mirror stands for it, and any content
// source setting replaces them. Nothing is contacted.
func TestContentSourceDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []Option
		mir  bool
		want []string
	}{
		{name: "defaults", want: []string{"public.ecr.aws/docker", "mirror.gcr.io"}},
		{name: "registry mirror", mir: true, want: nil},
		{name: "off", opts: []Option{WithNoContentSources(true)}, want: nil},
		{name: "empty setting", opts: []Option{WithContentSources(map[string][]string{})}, want: nil},
		{name: "explicit with mirror", mir: true, opts: []Option{WithContentSource("docker.io", "http://127.0.0.1:1/x")}, want: []string{"127.0.0.1:1/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := makeOptions(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			r := &run{o: o, mirrors: map[string]mirror{}}
			if tc.mir {
				r.mirrors[name.DefaultRegistry] = mirror{host: "127.0.0.1:2", scheme: "http"}
			}
			if err := r.contentSetup(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cs := range r.content[name.DefaultRegistry] {
				got = append(got, cs.name)
				if cs.m.host == "public.ecr.aws" && (cs.pace == nil || !cs.libraryOnly) {
					t.Errorf("%s: not paced or not limited to library/", cs.name)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("content sources = %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"ftp://x", "http://mirror.example.com", "public.ecr.aws/docker"} {
		_, err := Mirror(context.Background(), nil, WithContentSource("docker.io", bad))
		if err == nil || !strings.Contains(err.Error(), "content source docker.io="+bad) {
			t.Errorf("Mirror(content source %q) error = %v, want one naming it", bad, err)
		}
	}
}

// TestPacer: requests to a paced host are spaced.
func TestPacer(t *testing.T) {
	t.Parallel()
	p := &pacer{every: 50 * time.Millisecond}
	start := time.Now()
	for range 3 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("3 paced requests took %s, want at least 100ms", d)
	}
}

// TestReferrersOfPlatforms: the platforms of a signed index have their
// signatures copied too; an index with nothing beside it costs four
// requests, and its platforms are not looked at.
func TestReferrersOfPlatforms(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	idx := multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64")
	top := h.push(t, "signed:1", idx)
	h.push(t, "plain:1", idx) // the same index under another name, unsigned
	im, _ := idx.IndexManifest()
	child := im.Manifests[0].Digest
	th, _ := v1.NewHash(top)
	topSig := h.push(t, "signed:sha256-"+th.Hex+".sig", randomImage(t, 128, 1))
	childSig := h.push(t, "signed:sha256-"+child.Hex+".sig", randomImage(t, 128, 1))
	h.push(t, "plain:sha256-"+child.Hex+".sig", randomImage(t, 128, 1))

	repo := uniqueRepo(t)
	rep := mustMirror(t, []Image{
		{Source: "docker.io/library/signed:1", Repository: repo + "/signed"},
		{Source: "docker.io/library/plain:1", Repository: repo + "/plain"},
	}, testOptions(t, target, h, nil)...)
	if d := head(t, target, repo+"/signed:sha256-"+th.Hex+".sig"); d != topSig {
		t.Errorf("index signature in ECR = %q, want %s", d, topSig)
	}
	if d := head(t, target, repo+"/signed:sha256-"+child.Hex+".sig"); d != childSig {
		t.Errorf("platform signature of a signed index in ECR = %q, want %s", d, childSig)
	}
	if d := head(t, target, repo+"/plain:sha256-"+child.Hex+".sig"); d != "" || len(rep.Images[1].Referrers) != 0 {
		t.Errorf("unsigned index: platform signature %q copied (%+v), want its platforms left unexamined", d, rep.Images[1].Referrers)
	}
}

// TestContentSourceStallsInBlob: a content source that sends half a blob
// and then nothing is cut after its timeout and skipped for the rest of
// the run; the hub supplies the blob and the digests stay upstream's.
func TestContentSourceStallsInBlob(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	csUp := newRegistry(t)
	u, _ := url.Parse("http://" + csUp)
	rp := httputil.NewSingleHostReverseProxy(u)
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)
	repo := uniqueRepo(t)
	var images []Image
	want := map[string]string{}
	for i := range 2 {
		tag := fmt.Sprintf("app:%d", i)
		want[tag] = h.push(t, tag, randomImage(t, 64<<10, 1))
		copyImage(t, h.upstream+"/library/"+tag, csUp+"/library/"+tag)
		images = append(images, Image{Source: "docker.io/library/" + tag, Repository: repo})
	}
	h.proxy.Reset()
	start := time.Now()
	rep := mustMirror(t, images, append(testOptions(t, target, h, nil),
		WithContentSource("docker.io", stall.URL), WithContentTimeout(300*time.Millisecond), WithJobs(1))...)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run took %s with a stalling content source, want it bounded by the 300ms timeout", d)
	}
	for i, got := range rep.Images {
		if w := want[fmt.Sprintf("app:%d", i)]; got.Digest != w {
			t.Errorf("%s digest = %s, want %s", got.Source, got.Digest, w)
		}
	}
	if !strings.Contains(strings.Join(rep.Images[0].Warnings, "\n"), "unreachable") {
		t.Errorf("warnings = %q, want one saying the content source is not used any more", rep.Images[0].Warnings)
	}
	// The first manifest came from the content source; the rest from the hub.
	if s := h.proxy.Stats(); s.Pulls != 1 || s.BlobGets == 0 {
		t.Errorf("hub stats = %+v, want 1 pull (the second image) and blob GETs", s)
	}
}

// TestContentSourcePartial: a content source that holds the index but not
// one of its platforms supplies the rest; the hub supplies that platform
// alone, and the report says how much came from each.
func TestContentSourcePartial(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	csUp := newRegistry(t)
	digest := h.push(t, "multi:1", multiArch(t, types.DockerManifestList, "linux/amd64", "linux/arm64", "linux/s390x"))
	copyImage(t, h.upstream+"/library/multi:1", csUp+"/library/multi:1")
	var im v1.IndexManifest
	if err := json.Unmarshal(rawManifestOf(t, h.upstream+"/library/multi:1"), &im); err != nil {
		t.Fatal(err)
	}
	gone := im.Manifests[1].Digest
	if err := remote.Delete(mustRef(t, csUp+"/library/multi@"+gone.String())); err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo(t)
	h.proxy.Reset()
	rep := mustMirror(t, []Image{{Source: "docker.io/library/multi:1", Repository: repo}},
		append(testOptions(t, target, h, nil), WithContentSource("docker.io", "http://"+csUp))...)
	got := rep.Images[0]
	if got.Digest != digest || head(t, target, repo+":1") != digest || head(t, target, repo+"@"+gone.String()) != gone.String() {
		t.Errorf("digest %s, want %s with every platform", got.Digest, digest)
	}
	if s := h.proxy.Stats(); s.Pulls != 1 || got.PullsUsed != 1 {
		t.Errorf("hub pulls = %d (report %d), want 1: the platform the content source lacks", s.Pulls, got.PullsUsed)
	}
	counts := map[string][2]int{}
	for _, o := range got.Content {
		counts[o.Registry] = [2]int{o.Manifests, o.Pulls}
	}
	hubHost := strings.TrimPrefix(h.url, "http://")
	if counts[csUp] != [2]int{3, 0} || counts[hubHost] != [2]int{1, 1} {
		t.Errorf("content = %+v, want 3 manifests from %s and 1 (a counted pull) from %s", got.Content, csUp, hubHost)
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings = %q, want none: lacking a platform is no fault", got.Warnings)
	}
}

// TestECRPublicPace: ECR Public is paced at one request per second, or ten
// with credentials for it. Nothing is contacted.
func TestECRPublicPace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kc   authn.Keychain
		want time.Duration
	}{
		{"anonymous", hostKeychain{"other.example", "u", "p"}, time.Second},
		{"logged in", hostKeychain{"public.ecr.aws", "u", "p"}, 100 * time.Millisecond},
	} {
		o, err := makeOptions(WithContentSource("docker.io", "https://public.ecr.aws/docker"), WithKeychain(tc.kc))
		if err != nil {
			t.Fatal(err)
		}
		r := &run{o: o, mirrors: map[string]mirror{}}
		if err := r.contentSetup(); err != nil {
			t.Fatal(err)
		}
		if cs := r.content[name.DefaultRegistry]; len(cs) != 1 || cs[0].pace == nil || cs[0].pace.every != tc.want {
			t.Errorf("%s: pace = %+v, want every %s", tc.name, cs, tc.want)
		}
	}
}

// TestContentSourcePinnedHubDown: with the hub down, an image pinned by
// digest is copied from a content source that holds that digest; an image
// named by tag alone still fails, since only the hub may say what a tag is.
func TestContentSourcePinnedHubDown(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	csUp := newRegistry(t)
	digest := h.push(t, "app:1", randomImage(t, 4096, 2))
	copyImage(t, h.upstream+"/library/app:1", csUp+"/library/app:1")
	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.ServerError})
	repo := uniqueRepo(t)
	images := []Image{
		{Source: "docker.io/library/app:1@" + digest, Repository: repo},
		{Source: "docker.io/library/app:1", Repository: repo + "-tag"},
	}
	rep, err := Mirror(context.Background(), images, append(testOptions(t, target, h, nil), WithContentSource("docker.io", "http://"+csUp))...)
	if err == nil || rep.Failed != 1 {
		t.Fatalf("Mirror error %v, %d failed; want the tag-only image to fail", err, rep.Failed)
	}
	got := rep.Images[0]
	if got.Action != Copy || got.Digest != digest || head(t, target, repo+":1") != digest {
		t.Errorf("pinned image: %s %s, ECR %s; want copied at %s", got.Action, got.Digest, head(t, target, repo+":1"), digest)
	}
	if !strings.Contains(strings.Join(got.Warnings, "\n"), "pinned digest") {
		t.Errorf("warnings = %q, want one saying the pinned digest came from the content source", got.Warnings)
	}
	if s := h.proxy.Stats(); s.Pulls != 0 {
		t.Errorf("hub pulls = %d, want 0", s.Pulls)
	}
	if rep.Images[1].Action != Fail {
		t.Errorf("tag-only image action = %s, want fail", rep.Images[1].Action)
	}
}
