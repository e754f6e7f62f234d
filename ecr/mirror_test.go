package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
)

func TestMirrorDigestsIdentical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		multi     bool
		mt        types.MediaType
		platforms []string
		wantPulls int
	}{
		{name: "single-arch", wantPulls: 1},
		{name: "docker-manifest-list", multi: true, mt: types.DockerManifestList, platforms: []string{"linux/amd64", "linux/arm64/v8"}, wantPulls: 3},
		{name: "oci-index-with-attestation", multi: true, mt: types.OCIImageIndex, platforms: []string{"linux/amd64", "linux/arm/v7", "linux/s390x"}, wantPulls: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newRegistry(t)
			var digest string
			if tc.multi {
				digest = h.push(t, "app:1", multiArch(t, tc.mt, tc.platforms...))
			} else {
				digest = h.push(t, "app:1", randomImage(t, 4096, 3))
			}
			repo := uniqueRepo(t)
			images := []Image{{Source: "docker.io/library/app:1", Repository: repo}}
			h.proxy.Reset()

			rep := mustMirror(t, images, testOptions(t, target, h, nil)...)
			got := rep.Images[0]
			if got.Status != Missing || got.Action != Copy || got.Digest != digest || got.SourceDigest != digest {
				t.Errorf("first run = status %s action %s digest %s source %s, want missing/copy/%s", got.Status, got.Action, got.Digest, got.SourceDigest, digest)
			}
			if d := head(t, target, repo+":1"); d != digest {
				t.Errorf("ECR %s:1 = %s, want the source digest %s", repo, d, digest)
			}
			src := rawManifestOf(t, h.upstream+"/library/app:1")
			dst := rawManifestOf(t, target+"/"+repo+":1")
			if !bytes.Equal(src, dst) {
				t.Errorf("manifest bytes differ:\nsource %s\nECR    %s", src, dst)
			}
			if got.PullsUsed != tc.wantPulls || h.proxy.Stats().Pulls != int64(tc.wantPulls) {
				t.Errorf("pulls used = %d (hub counted %d), want %d", got.PullsUsed, h.proxy.Stats().Pulls, tc.wantPulls)
			}
			if tc.multi && len(got.Platforms) != len(tc.platforms) {
				t.Errorf("platforms = %v, want %v", got.Platforms, tc.platforms)
			}
			if rep.Registry != motoAccount+".dkr.ecr.us-east-1.amazonaws.com" || !strings.HasPrefix(got.Target, rep.Registry+"/"+repo+":1") {
				t.Errorf("registry %q target %q, want names from the token's proxyEndpoint", rep.Registry, got.Target)
			}

			// The second run is all HEADs: zero counted pulls, zero blobs.
			h.proxy.Reset()
			rep = mustMirror(t, images, testOptions(t, target, h, nil)...)
			if got := rep.Images[0]; got.Status != UpToDate || got.Action != None || got.Digest != digest {
				t.Errorf("second run = %s/%s %s, want up-to-date/none %s", got.Status, got.Action, got.Digest, digest)
			}
			if s := h.proxy.Stats(); s.ManifestGets != 0 || s.BlobGets != 0 || s.ManifestHeads != 1 {
				t.Errorf("second run hub stats = %+v, want 0 manifest GETs, 0 blob GETs, 1 HEAD", s)
			}
		})
	}
}

func TestMirrorPlatformSubset(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	srcDigest := h.push(t, "multi:1", multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64/v8", "linux/s390x"))
	repo := uniqueRepo(t)
	images := []Image{{Source: "docker.io/library/multi:1", Repository: repo}}
	opts := append(testOptions(t, target, h, nil), WithPlatforms("linux/arm64"))
	h.proxy.Reset()

	rep := mustMirror(t, images, opts...)
	got := rep.Images[0]
	// An OCI index may hold attestations of the platform: the plan cannot
	// know how many before it reads the index. This one's attestation
	// names no platform, so it is dropped.
	if got.PullsNeeded != 2 || !got.PullsEstimate || got.PullsUsed != 2 {
		t.Errorf("pulls needed %d (estimate %t) used %d, want an estimate of 2 and 2 used (index + one platform)", got.PullsNeeded, got.PullsEstimate, got.PullsUsed)
	}
	if got.Digest == srcDigest || got.Digest == "" {
		t.Errorf("digest = %q, want a new index digest", got.Digest)
	}
	if len(got.Warnings) == 0 || !strings.Contains(got.Warnings[0], "not the source's") {
		t.Errorf("warnings = %q, want one about the index digest changing", got.Warnings)
	}
	if d := head(t, target, repo+":1"); d != got.Digest {
		t.Errorf("ECR tag = %s, want %s", d, got.Digest)
	}
	var idx struct {
		Manifests []struct {
			Platform struct{ Architecture string }
		}
		Annotations map[string]string
	}
	if err := json.Unmarshal(rawManifestOf(t, target+"/"+repo+":1"), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Platform.Architecture != "arm64" || idx.Annotations[annotationSource] != srcDigest {
		t.Errorf("subset index = %+v, want one arm64 manifest annotated with %s", idx, srcDigest)
	}

	h.proxy.Reset()
	rep = mustMirror(t, images, opts...)
	if got := rep.Images[0]; got.Status != UpToDate {
		t.Errorf("second run status = %s, want up-to-date", got.Status)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 {
		t.Errorf("second run made %d manifest GETs, want 0", s.ManifestGets)
	}

	_, err := Mirror(context.Background(), images, append(testOptions(t, target, h, nil), WithPlatforms("windows/amd64"))...)
	if !errors.Is(err, ErrNoPlatform) {
		t.Errorf("Mirror(windows/amd64) error = %v, want %v", err, ErrNoPlatform)
	}
}

func TestMirrorStale(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	old := h.push(t, "moving:1", randomImage(t, 1024, 1))
	repo := uniqueRepo(t)
	images := []Image{{Source: "docker.io/library/moving:1", Repository: repo}}
	mustMirror(t, images, testOptions(t, target, h, nil)...)
	moved := h.push(t, "moving:1", randomImage(t, 1024, 1))

	h.proxy.Reset()
	rep := mustMirror(t, images, append(testOptions(t, target, h, nil), WithNoUpdate(true))...)
	if got := rep.Images[0]; got.Status != Stale || got.Action != Keep || got.Digest != old || got.SourceDigest != moved {
		t.Errorf("no-update run = %s/%s digest %s source %s, want stale/keep %s %s", got.Status, got.Action, got.Digest, got.SourceDigest, old, moved)
	}
	if d := head(t, target, repo+":1"); d != old {
		t.Errorf("ECR after no-update = %s, want %s", d, old)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 {
		t.Errorf("no-update run made %d manifest GETs, want 0", s.ManifestGets)
	}

	rep = mustMirror(t, images, testOptions(t, target, h, nil)...)
	if got := rep.Images[0]; got.Status != Stale || got.Action != Update || got.Digest != moved {
		t.Errorf("update run = %s/%s %s, want stale/update %s", got.Status, got.Action, got.Digest, moved)
	}
	if d := head(t, target, repo+":1"); d != moved {
		t.Errorf("ECR after update = %s, want %s", d, moved)
	}
}

// TestMirrorStaleKeptWhenSourceRefuses: when the upstream tag moved but the
// copy cannot be made now (429 on the GET, or no pulls left), ECR keeps its
// tag with a warning and the run succeeds: the build still works from ECR.
func TestMirrorStaleKeptWhenSourceRefuses(t *testing.T) {
	t.Parallel()
	for name, refuse := range map[string]func(*hubproxy.Proxy){
		"429":           func(p *hubproxy.Proxy) { p.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests}) },
		"no pulls left": func(p *hubproxy.Proxy) { p.SetQuota(100, 0, false) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newRegistry(t)
			old := h.push(t, "moving:1", randomImage(t, 1024, 1))
			repo := uniqueRepo(t)
			images := []Image{{Source: "docker.io/library/moving:1", Repository: repo}}
			mustMirror(t, images, testOptions(t, target, h, nil)...)
			h.push(t, "moving:1", randomImage(t, 1024, 1))
			h.proxy.Reset()
			refuse(h.proxy)

			rep := mustMirror(t, images, testOptions(t, target, h, nil)...)
			got := rep.Images[0]
			if got.Status != Stale || got.Action != Keep || got.Digest != old || len(got.Warnings) == 0 {
				t.Errorf("run = %s/%s %s warnings %q, want stale/keep %s with a warning", got.Status, got.Action, got.Digest, got.Warnings, old)
			}
			if d := head(t, target, repo+":1"); d != old {
				t.Errorf("ECR = %s, want %s kept", d, old)
			}
		})
	}
}

// TestMirrorMountsSharedBlobs: two images in different repositories share
// a base layer; the run reads it from the source once and mounts it into
// the second repository. It needs a registry that keeps blobs per
// repository, as ECR does: the real docker-registry.
func TestMirrorMountsSharedBlobs(t *testing.T) {
	t.Parallel()
	target, user, pass := realECR(t)
	h := newHub(t)
	base, err := random.Layer(4096, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	a := appendLayer(t, appendLayer(t, empty.Image, base), mustLayer(t))
	b := appendLayer(t, appendLayer(t, empty.Image, base), mustLayer(t))
	h.push(t, "first:1", a)
	h.push(t, "second:1", b)
	repo := uniqueRepo(t)
	images := []Image{
		{Source: "docker.io/library/first:1", Repository: repo + "-first"},
		{Source: "docker.io/library/second:1", Repository: repo + "-second"},
	}
	h.proxy.Reset()
	rep := mustMirror(t, images, append(testOptions(t, target, h, nil), WithJobs(2))...)
	// Blobs: the shared layer, two own layers, two configs.
	if got := h.proxy.Stats().BlobGets; got != 5 {
		t.Errorf("source blob GETs = %d, want 5 (the shared layer once)", got)
	}
	for i, img := range []v1.Image{a, b} {
		d, _ := img.Digest()
		if got := rep.Images[i].Digest; got != d.String() {
			t.Errorf("%s in ECR = %s, want %s", images[i].Repository, got, d)
		}
		if _, err := remote.Layer(mustDigestRef(t, target+"/"+images[i].Repository, base), remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
			t.Errorf("shared layer missing in %s: %v", images[i].Repository, err)
		}
	}
	if skipped := rep.Images[0].BlobsSkipped + rep.Images[1].BlobsSkipped; skipped != 1 {
		t.Errorf("blobs mounted or skipped = %d, want 1", skipped)
	}
}

func mustLayer(t *testing.T) v1.Layer {
	t.Helper()
	l, err := random.Layer(1024, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustDigestRef(t *testing.T, repo string, l v1.Layer) name.Digest {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(repo + "@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestMirrorDigestReferences(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	d := h.push(t, "pinned:1", randomImage(t, 1024, 1))
	repo := uniqueRepo(t)

	// Tag and digest: written by digest and by tag.
	rep := mustMirror(t, []Image{{Source: "docker.io/library/pinned:1@" + d, Repository: repo}}, testOptions(t, target, h, nil)...)
	if got := rep.Images[0]; got.Action != Copy || got.Digest != d {
		t.Errorf("tag+digest = %s %s, want copy %s", got.Action, got.Digest, d)
	}
	if got := head(t, target, repo+"@"+d); got != d {
		t.Errorf("ECR by digest = %q, want %s", got, d)
	}
	if got := head(t, target, repo+":1"); got != d {
		t.Errorf("ECR by tag = %q, want %s", got, d)
	}

	// Digest only: by digest, no tag.
	repo2 := repo + "-bare"
	rep = mustMirror(t, []Image{{Source: "docker.io/library/pinned@" + d, Repository: repo2}}, testOptions(t, target, h, nil)...)
	if got := rep.Images[0]; got.Action != Copy || !strings.HasSuffix(got.Target, "@"+d) {
		t.Errorf("digest only = %s %s, want copy to ...@%s", got.Action, got.Target, d)
	}
	if got := head(t, target, repo2+"@"+d); got != d {
		t.Errorf("ECR by digest = %q, want %s", got, d)
	}

	// A pinned digest ECR has needs nothing from the source, even when it is down.
	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.ServerError})
	rep = mustMirror(t, []Image{{Source: "docker.io/library/pinned:1@" + d, Repository: repo}}, testOptions(t, target, h, nil)...)
	if got := rep.Images[0]; got.Status != UpToDate || len(got.Warnings) != 0 {
		t.Errorf("pinned with source down = %s %q, want up-to-date without warnings", got.Status, got.Warnings)
	}
}

func TestMirrorInterruptedBlobLeavesNoTag(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	digest := h.push(t, "big:1", randomImage(t, 1<<20, 2))
	repo := uniqueRepo(t)
	images := []Image{{Source: "docker.io/library/big:1", Repository: repo}}

	// Every blob GET is cut after 4 KiB, retries included.
	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.Cut, CutAfter: 4096})
	rep, err := Mirror(context.Background(), images, testOptions(t, target, h, nil)...)
	var me *MirrorError
	if !errors.As(err, &me) || rep.Failed != 1 {
		t.Fatalf("Mirror with cut blobs error = %v (failed %d), want a *MirrorError for the image", err, rep.Failed)
	}
	if s := h.proxy.Stats(); s.Faults < 2 {
		t.Errorf("hub cut %d blob transfers, want retries after the first cut", s.Faults)
	}
	if d := head(t, target, repo+":1"); d != "" {
		t.Errorf("ECR has %s:1 = %s after an interrupted run, want no tag", repo, d)
	}

	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.Normal})
	rep = mustMirror(t, images, testOptions(t, target, h, nil)...)
	if got := rep.Images[0]; got.Action != Copy || got.Digest != digest {
		t.Errorf("rerun = %s %s, want copy %s", got.Action, got.Digest, digest)
	}
	if d := head(t, target, repo+":1"); d != digest {
		t.Errorf("ECR after rerun = %s, want %s", d, digest)
	}
}

func TestMirrorSurvivesFlakySource(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	repo := uniqueRepo(t)
	for _, f := range []hubproxy.Fault{
		{Mode: hubproxy.ServerError, Status: 502, Times: 2},
		{Mode: hubproxy.Cut, CutAfter: 1000, Times: 1},
	} {
		// A fresh image each time: the stand-in registry shares blobs across repositories.
		digest := h.push(t, "flaky:"+string(f.Mode), randomImage(t, 64<<10, 2))
		h.proxy.SetFault(f)
		rep := mustMirror(t, []Image{{Source: "docker.io/library/flaky:" + string(f.Mode), Repository: repo}}, testOptions(t, target, h, nil)...)
		if got := rep.Images[0]; got.Digest != digest {
			t.Errorf("with fault %+v digest = %s, want %s", f, got.Digest, digest)
		}
		if s := h.proxy.Stats(); s.Faults == 0 {
			t.Errorf("fault %+v was never injected", f)
		}
		h.proxy.Reset()
	}
}

func TestMirrorSourceDown(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	have := h.push(t, "have:1", randomImage(t, 1024, 1))
	h.push(t, "lack:1", randomImage(t, 1024, 1))
	repo := uniqueRepo(t)
	mustMirror(t, []Image{{Source: "docker.io/library/have:1", Repository: repo}}, testOptions(t, target, h, nil)...)

	for _, f := range []hubproxy.Fault{
		{Mode: hubproxy.ServerError},
		{Mode: hubproxy.TooManyRequests}, // HEADs still answer; only GETs are refused
	} {
		h.proxy.SetFault(f)
		var out lines
		rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/have:1", Repository: repo}},
			append(testOptions(t, target, h, nil), WithProgress(&out))...)
		if err != nil {
			t.Fatalf("fault %s: Mirror with ECR populated error = %v, want success", f.Mode, err)
		}
		got := rep.Images[0]
		want := Keep
		if f.Mode == hubproxy.TooManyRequests {
			want = None // the HEAD still shows the digest, so nothing needs pulling
		}
		if got.Action != want || got.Digest != have {
			t.Errorf("fault %s: action %s digest %s, want %s %s", f.Mode, got.Action, got.Digest, want, have)
		}
		if f.Mode == hubproxy.ServerError && (got.Status != Unresolved || len(got.Warnings) != 1 || !strings.Contains(out.String(), "warning")) {
			t.Errorf("fault %s: status %s warnings %q progress %q, want unresolved with one warning", f.Mode, got.Status, got.Warnings, out.String())
		}
		// ECR has the image: kept at once, the failing source not retried.
		if s := h.proxy.Stats(); f.Mode == hubproxy.ServerError && s.Faults > 2 {
			t.Errorf("fault %s: %d requests failed, want the source tried once (ping and HEAD), not retried", f.Mode, s.Faults)
		}
		h.proxy.Reset()
	}

	// An image ECR lacks fails; the one it has still passes.
	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.ServerError})
	rep, err := Mirror(context.Background(), []Image{
		{Source: "docker.io/library/have:1", Repository: repo},
		{Source: "docker.io/library/lack:1", Repository: repo + "-lack"},
	}, testOptions(t, target, h, nil)...)
	if !errors.Is(err, ErrSourceUnreachable) || rep.Failed != 1 {
		t.Fatalf("Mirror error = %v (failed %d), want one image failing with %v", err, rep.Failed, ErrSourceUnreachable)
	}
	if rep.Images[0].Action != Keep || rep.Images[1].Action != Fail || rep.Images[1].Error == "" {
		t.Errorf("actions = %s, %s (%q), want keep, fail with an error", rep.Images[0].Action, rep.Images[1].Action, rep.Images[1].Error)
	}
}

func TestMirrorRateLimit(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	digest := h.push(t, "limited:1", randomImage(t, 1024, 1))
	src := "docker.io/library/limited:1"

	t.Run("fails with the quota seen", func(t *testing.T) {
		h.proxy.SetQuota(100, 42, false)
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests})
		rep, err := Mirror(context.Background(), []Image{{Source: src, Repository: uniqueRepo(t)}}, testOptions(t, target, h, nil)...)
		if !errors.Is(err, ErrRateLimited) {
			t.Fatalf("Mirror error = %v, want %v", err, ErrRateLimited)
		}
		for _, want := range []string{"TOOMANYREQUESTS", "42 of 100 pulls left per 6h0m0s window"} {
			if !strings.Contains(err.Error(), want) || !strings.Contains(rep.Images[0].Error, want) {
				t.Errorf("error %q / report %q, want it to contain %q", err, rep.Images[0].Error, want)
			}
		}
		if s := h.proxy.Stats(); s.ManifestGets != 1 {
			t.Errorf("manifest GETs = %d, want exactly 1: a used-up window is not hammered", s.ManifestGets)
		}
	})
	t.Run("Retry-After honoured", func(t *testing.T) {
		h.proxy.SetQuota(100, 100, false)
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests, RetryAfter: 1, Times: 1})
		rep := mustMirror(t, []Image{{Source: src, Repository: uniqueRepo(t)}}, testOptions(t, target, h, nil)...)
		if got := rep.Images[0]; got.Digest != digest {
			t.Errorf("digest = %s, want %s", got.Digest, digest)
		}
	})
	t.Run("wait", func(t *testing.T) {
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests, Times: 2})
		var out lines
		rep := mustMirror(t, []Image{{Source: src, Repository: uniqueRepo(t)}},
			append(testOptions(t, target, h, nil), WithWait(true), WithProgress(&out))...)
		if got := rep.Images[0]; got.Digest != digest {
			t.Errorf("digest = %s, want %s", got.Digest, digest)
		}
		if n := strings.Count(out.String(), " wait: "); n != 2 {
			t.Errorf("progress shows %d waits, want 2:\n%s", n, out.String())
		}
	})
	t.Run("wait gives up after MaxWait", func(t *testing.T) {
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests})
		_, err := Mirror(context.Background(), []Image{{Source: src, Repository: uniqueRepo(t)}},
			append(testOptions(t, target, h, nil), WithWait(true), WithMaxWait(100*time.Millisecond))...)
		if !errors.Is(err, ErrRateLimited) {
			t.Errorf("Mirror error = %v, want %v", err, ErrRateLimited)
		}
	})
}

func TestMirrorPullBudget(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	h.push(t, "idx:1", multiArch(t, types.DockerManifestList, "linux/amd64", "linux/arm64", "linux/ppc64le"))
	h.push(t, "one:1", randomImage(t, 1024, 1))

	// Two images needing at least 1 + 2 pulls, one pull left: nothing is pulled.
	h.proxy.SetQuota(100, 1, false)
	rep, err := Mirror(context.Background(), []Image{
		{Source: "docker.io/library/one:1", Repository: uniqueRepo(t) + "-one"},
		{Source: "docker.io/library/idx:1", Repository: uniqueRepo(t) + "-idx"},
	}, testOptions(t, target, h, nil)...)
	if !errors.Is(err, ErrPullBudget) || rep.Failed != 2 {
		t.Fatalf("Mirror error = %v (failed %d), want both refused with %v", err, rep.Failed, ErrPullBudget)
	}
	if !strings.Contains(err.Error(), "need 3 counted pulls") || !strings.Contains(err.Error(), "1 of 100 pulls left") {
		t.Errorf("error %q, want the pulls needed and the quota seen", err)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 || s.BlobGets != 0 {
		t.Errorf("hub saw %d manifest GETs and %d blob GETs, want none", s.ManifestGets, s.BlobGets)
	}

	// The dry run tells the same without failing.
	rep, err = Mirror(context.Background(), []Image{{Source: "docker.io/library/idx:1", Repository: uniqueRepo(t)}},
		append(testOptions(t, target, h, nil), WithDryRun(true))...)
	if err != nil || len(rep.Images[0].Warnings) != 1 || !strings.Contains(rep.Images[0].Warnings[0], ErrPullBudget.Error()) {
		t.Errorf("dry run = %v, warnings %q; want no error and a pull budget warning", err, rep.Images[0].Warnings)
	}

	// Two left: the index is read (1 pull), which shows 3 more are needed,
	// and the copy stops there.
	h.proxy.Reset()
	h.proxy.SetQuota(100, 2, false)
	_, err = Mirror(context.Background(), []Image{{Source: "docker.io/library/idx:1", Repository: uniqueRepo(t)}}, testOptions(t, target, h, nil)...)
	if !errors.Is(err, ErrPullBudget) {
		t.Fatalf("Mirror error = %v, want %v", err, ErrPullBudget)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 1 {
		t.Errorf("hub saw %d manifest GETs, want only the index's", s.ManifestGets)
	}
}

func TestMirrorDryRun(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	same := h.push(t, "same:1", randomImage(t, 512, 1))
	h.push(t, "stale:1", randomImage(t, 512, 1))
	missing := h.push(t, "missing:1", multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64"))
	repo := uniqueRepo(t)
	mustMirror(t, []Image{
		{Source: "docker.io/library/same:1", Repository: repo + "-same"},
		{Source: "docker.io/library/stale:1", Repository: repo + "-stale"},
	}, testOptions(t, target, h, nil)...)
	moved := h.push(t, "stale:1", randomImage(t, 512, 1))

	h.proxy.Reset()
	images := []Image{
		{Source: "docker.io/library/same:1", Repository: repo + "-same"},
		{Source: "docker.io/library/stale:1", Repository: repo + "-stale"},
		{Source: "docker.io/library/missing:1", Repository: repo + "-missing"},
		{Source: "docker.io/library/gone:1", Repository: repo + "-gone"},
		{Source: "docker.io/library/same:1", Repository: repo + "-same"}, // duplicate
	}
	rep, err := Mirror(context.Background(), images, append(testOptions(t, target, h, nil), WithDryRun(true))...)
	if err != nil {
		t.Fatalf("dry run error = %v", err)
	}
	type row struct {
		Status       Status
		Action       Action
		SourceDigest string
		PullsNeeded  int
		Estimate     bool
	}
	var got []row
	for _, r := range rep.Images {
		got = append(got, row{r.Status, r.Action, r.SourceDigest, r.PullsNeeded, r.PullsEstimate})
		if r.Status != Unresolved && (r.Quota == nil || r.Quota.Limit != 100) {
			t.Errorf("%s quota = %v, want the hub's", r.Source, r.Quota)
		}
	}
	want := []row{
		{UpToDate, None, same, 0, false},
		{Stale, Update, moved, 1, false},
		{Missing, Copy, missing, 2, true},
		{Unresolved, Fail, "", 0, false},
	}
	if len(got) != len(want) {
		t.Fatalf("dry run rows = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("dry run %s = %+v, want %+v", images[i].Source, got[i], want[i])
		}
	}
	if e := rep.Images[3].Error; !strings.Contains(e, "docker.io/library/gone:1 via 127.0.0.1:") || !strings.Contains(e, ErrSourceNotFound.Error()) {
		t.Errorf("unresolved image error = %q, want the reference, the mirror and %q", e, ErrSourceNotFound)
	}
	if rep.Images[1].TargetDigest == "" || rep.Images[1].TargetDigest == moved {
		t.Errorf("stale target digest = %q, want the old one", rep.Images[1].TargetDigest)
	}
	if rep.Failed != 1 || !rep.DryRun || rep.PullsNeeded != 3 {
		t.Errorf("report failed %d dry_run %t pulls_needed %d, want 1 true 3", rep.Failed, rep.DryRun, rep.PullsNeeded)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 || s.BlobGets != 0 {
		t.Errorf("dry run hub stats = %+v, want no GETs", s)
	}
	if d := head(t, target, repo+"-missing:1"); d != "" {
		t.Errorf("dry run wrote %s", d)
	}
	if d := head(t, target, repo+"-stale:1"); d == moved {
		t.Errorf("dry run updated the stale tag")
	}
}

func TestMirrorConcurrentRuns(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	var images []Image
	want := map[string]string{}
	repo := uniqueRepo(t)
	for _, tag := range []string{"a", "b", "c"} {
		want[tag] = h.push(t, "conc:"+tag, multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64"))
		images = append(images, Image{Source: "docker.io/library/conc:" + tag, Repository: repo})
	}
	// The options are built here: testOptions skips or fails the test
	// without moto, which only the test's goroutine may do.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		opts := append(testOptions(t, target, h, nil), WithJobs(3))
		wg.Go(func() { _, errs[i] = Mirror(context.Background(), images, opts...) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Mirror %d error = %v", i, err)
		}
	}
	for tag, d := range want {
		if got := head(t, target, repo+":"+tag); got != d {
			t.Errorf("ECR %s:%s = %s, want %s", repo, tag, got, d)
		}
	}
}

func TestMirrorProgressAndReport(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	h.push(t, "prog:1", randomImage(t, 2048, 2))
	var out lines
	var mu sync.Mutex
	var kinds []string
	rep := mustMirror(t, []Image{{Source: "docker.io/library/prog:1", Repository: uniqueRepo(t)}},
		append(testOptions(t, target, h, nil), WithProgress(&out), WithEvents(func(e Event) {
			mu.Lock()
			kinds = append(kinds, e.Kind)
			mu.Unlock()
		}))...)
	for _, k := range []string{"plan", "start", "repository", "blob", "tag", "done"} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("events %v lack %q", kinds, k)
		}
	}
	// Nothing else after the tag: the tag is the last write.
	if i := strings.LastIndex(strings.Join(kinds, " "), "tag"); i < strings.LastIndex(strings.Join(kinds, " "), "blob") {
		t.Errorf("events %v: a blob after the tag", kinds)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(l, "docker.io/library/prog:1 ") {
			t.Errorf("progress line %q does not start with the image", l)
		}
	}
	if !strings.Contains(out.String(), " done copied sha256:") {
		t.Errorf("progress %q lacks the done line", out.String())
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	img := back["images"].([]any)[0].(map[string]any)
	for _, k := range []string{"source", "repository", "target", "status", "action", "source_digest", "digest", "pulls_needed", "pulls_used", "blobs_copied", "bytes"} {
		if _, ok := img[k]; !ok {
			t.Errorf("JSON report image lacks %q: %s", k, b)
		}
	}
	if rep.Images[0].BlobsCopied != 3 || rep.Images[0].Bytes == 0 {
		t.Errorf("blobs copied %d bytes %d, want 3 blobs (config + 2 layers)", rep.Images[0].BlobsCopied, rep.Images[0].Bytes)
	}
}

func TestMirrorSkipsBlobsECRHas(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	base := randomImage(t, 8192, 2)
	h.push(t, "base:1", base)
	layer, err := random.Layer(1024, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	child := appendLayer(t, base, layer)
	h.push(t, "child:1", child)
	repo := uniqueRepo(t)
	mustMirror(t, []Image{{Source: "docker.io/library/base:1", Repository: repo}}, testOptions(t, target, h, nil)...)
	h.proxy.Reset()
	rep := mustMirror(t, []Image{{Source: "docker.io/library/child:1", Repository: repo}}, testOptions(t, target, h, nil)...)
	got := rep.Images[0]
	if got.BlobsSkipped != 2 || got.BlobsCopied != 2 {
		t.Errorf("blobs copied %d skipped %d, want 2 copied (config, new layer) and 2 skipped (base layers)", got.BlobsCopied, got.BlobsSkipped)
	}
	if s := h.proxy.Stats(); s.BlobGets != 2 {
		t.Errorf("hub blob GETs = %d, want 2", s.BlobGets)
	}
}

func TestMirrorBadInput(t *testing.T) {
	t.Parallel()
	target := newRegistry(t)
	for _, tc := range []struct {
		name string
		opts []Option
		want string // the error, whole
	}{
		{"http mirror not loopback", []Option{WithRegistryMirror("docker.io", "http://mirror.example.com")},
			`registry mirror docker.io: "http://mirror.example.com": plain HTTP is allowed only for loopback or insecure registries`},
		{"ftp mirror", []Option{WithRegistryMirror("docker.io", "ftp://mirror.example.com")},
			`registry mirror docker.io: "ftp://mirror.example.com": want a URL such as https://mirror.example.com[/path]`},
		{"bad platform", []Option{WithPlatforms("amd64")}, `"amd64" is not a platform such as linux/amd64 or linux/arm/v7`},
		{"bad severity", []Option{WithFailOn("SEVERE")}, `fail-on severity "SEVERE": want INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL`},
		{"bad mutability", []Option{WithTagMutability("SOMETIMES")}, `tag mutability "SOMETIMES": want MUTABLE or IMMUTABLE`},
		{"bad lifecycle policy", []Option{WithLifecyclePolicy("{")}, "lifecycle policy: not a JSON object"},
		{"bad registry endpoint", []Option{WithRegistryEndpoint("localhost:5000")}, `registry endpoint "localhost:5000": want http(s)://host[:port]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Mirror(context.Background(), nil, append(testOptions(t, target, nil, nil), tc.opts...)...)
			if err == nil || err.Error() != tc.want || rep != nil {
				t.Errorf("Mirror with %s = %v, %v; want no report and error %q", tc.name, rep, err, tc.want)
			}
		})
	}
	rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/x", Repository: "x"}, {Source: "Not A Ref", Repository: "y"},
		{Source: "127.0.0.1:1/x:1", Repository: "Team/X"}}, testOptions(t, target, nil, nil)...)
	if err == nil || rep == nil || rep.Failed != 3 {
		t.Fatalf("Mirror(untagged, invalid, bad repository) = %+v, %v; want all failing", rep, err)
	}
	for i, want := range []string{`parsing reference "docker.io/library/x": no tag or digest`, `parsing reference "Not A Ref": invalid reference format`,
		`invalid ECR repository name: "Team/X" does not match ECR's repository-name pattern`} {
		if got := rep.Images[i].Error; !strings.Contains(got, want) {
			t.Errorf("image %d error = %q, want it to contain %q", i, got, want)
		}
	}
}
