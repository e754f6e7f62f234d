package ecr

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
)

// seededStale mirrors old into ECR, then moves the tag upstream: ECR holds
// a stale copy of the image.
func seededStale(t *testing.T, h *hub, target, tag string) (old, moved string, images []Image) {
	t.Helper()
	old = h.push(t, tag, randomImage(t, 1024, 1))
	images = []Image{{Source: "docker.io/library/" + tag, Repository: uniqueRepo(t)}}
	mustMirror(t, images, testOptions(t, target, h, nil)...)
	moved = h.push(t, tag, randomImage(t, 1024, 1))
	h.proxy.Reset()
	return old, moved, images
}

// TestMirror429Bounded: a source that answers 429 forever with a short
// Retry-After is waited on for a bounded time per image, and not at all
// when ECR holds the tag.
func TestMirror429Bounded(t *testing.T) {
	t.Parallel()
	forever := hubproxy.Fault{Mode: hubproxy.TooManyRequests, RetryAfter: 1}

	t.Run("without wait, ECR lacks the image", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		h.push(t, "lim:1", randomImage(t, 1024, 1))
		h.proxy.SetFault(forever)
		repo := uniqueRepo(t)
		// testOptions sets the no-wait bound to 3s: three waits of 1s.
		rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/lim:1", Repository: repo}}, testOptions(t, target, h, nil)...)
		if !errors.Is(err, ErrRateLimited) || rep.Failed != 1 {
			t.Fatalf("Mirror error = %v, want %v", err, ErrRateLimited)
		}
		// The 3s run from the first 429, requests included: at most three
		// waits of 1s.
		if s := h.proxy.Stats(); s.ManifestGets < 2 || s.ManifestGets > 4 {
			t.Errorf("manifest GETs = %d, want 2 to 4 (one, then one after each 1s wait within 3s)", s.ManifestGets)
		}
		if !strings.Contains(err.Error(), "gave up after waiting") || !strings.Contains(err.Error(), "TOOMANYREQUESTS") {
			t.Errorf("error %q, want the pull limit named and the time waited", err)
		}
		if d := head(t, target, repo+":1"); d != "" {
			t.Errorf("ECR has %s", d)
		}
	})
	t.Run("without wait, ECR holds the tag", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		old, _, images := seededStale(t, h, target, "lim:2")
		h.proxy.SetFault(forever)
		var out lines
		rep, err := Mirror(context.Background(), images, append(testOptions(t, target, h, nil), WithProgress(&out))...)
		if err != nil {
			t.Fatalf("Mirror error = %v, want ECR's copy kept", err)
		}
		got := rep.Images[0]
		if got.Action != Keep || got.Digest != old || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "keeping") {
			t.Errorf("result = %s %s %q, want keep %s with a warning", got.Action, got.Digest, got.Warnings, old)
		}
		if s := h.proxy.Stats(); s.ManifestGets != 1 || strings.Contains(out.String(), " wait: ") {
			t.Errorf("manifest GETs = %d, progress:\n%s\nwant one GET and no wait", s.ManifestGets, out.String())
		}
		if d := head(t, target, images[0].Repository+":2"); d != old {
			t.Errorf("ECR = %s, want %s", d, old)
		}
	})
	t.Run("with wait, bounded by max-wait", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		h.push(t, "lim:3", randomImage(t, 1024, 1))
		h.proxy.SetFault(forever)
		_, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/lim:3", Repository: uniqueRepo(t)}},
			append(testOptions(t, target, h, nil), WithWait(true), WithMaxWait(2*time.Second))...)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "gave up after waiting") {
			t.Fatalf("Mirror error = %v, want %v after waiting", err, ErrRateLimited)
		}
		if s := h.proxy.Stats(); s.ManifestGets < 2 || s.ManifestGets > 3 {
			t.Errorf("manifest GETs = %d, want 2 or 3 (1s waits within 2s)", s.ManifestGets)
		}
	})
	t.Run("bare 429 is the abuse limit", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		h.push(t, "lim:4", randomImage(t, 1024, 1))
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.TooManyRequests, Bare: true})
		_, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/lim:4", Repository: uniqueRepo(t)}}, testOptions(t, target, h, nil)...)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "abuse limit") || strings.Contains(err.Error(), "TOOMANYREQUESTS") {
			t.Errorf("Mirror error = %v, want the abuse limit named, not the pull limit", err)
		}
	})
}

// TestMirrorTimeouts: a source or target that stays silent fails its image
// after the configured timeout, naming it and the host; other images go on.
func TestMirrorTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault hubproxy.Fault
		while string
	}{
		{"hang on HEAD", hubproxy.Fault{Mode: hubproxy.Hang, Method: http.MethodHead}, "waiting for an answer"},
		{"hang on GET", hubproxy.Fault{Mode: hubproxy.Hang, Method: http.MethodGet}, "waiting for an answer"},
		{"manifest stalls after the headers", hubproxy.Fault{Mode: hubproxy.Stall, On: hubproxy.OnManifests}, "reading the body"},
		{"blob stalls after 4 KiB", hubproxy.Fault{Mode: hubproxy.Stall, CutAfter: 4096}, "reading the body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The real docker-registry: the in-process one holds one lock
			// while it reads any upload, so a stalled upload would stall
			// every other image's too.
			target, user, pass := realECR(t)
			h, other := newHub(t), newHub(t)
			h.push(t, "slow:1", randomImage(t, 64<<10, 1))
			want := other.push(t, "fine:1", randomImage(t, 1024, 1))
			otherHost := strings.TrimPrefix(other.url, "http://")
			repo := uniqueRepo(t)
			h.proxy.SetFault(tc.fault)
			rep, err := Mirror(context.Background(), []Image{
				{Source: "docker.io/library/slow:1", Repository: repo},
				{Source: otherHost + "/library/fine:1", Repository: repo + "-fine"},
			}, append(testOptions(t, target, h, nil), WithTimeout(time.Second))...)
			if !errors.Is(err, ErrTimeout) || rep.Failed != 1 {
				t.Fatalf("Mirror error = %v (failed %d), want one image failing with %v", err, rep.Failed, ErrTimeout)
			}
			hubHost := strings.TrimPrefix(h.url, "http://")
			msg := rep.Images[0].Error
			for _, want := range []string{hubHost, "1s timeout", tc.while} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q, want it to name %q", msg, want)
				}
			}
			// Five attempts at most (testOptions' backoff has 3 steps).
			if s := h.proxy.Stats(); s.Faults < 2 {
				t.Errorf("the silent request was tried %d times, want it retried", s.Faults)
			}
			if rep.Images[0].Status == TargetFailed {
				t.Errorf("status %s for a silent source", rep.Images[0].Status)
			}
			if _, err := remote.Head(mustRef(t, target+"/"+repo+":1"), remote.WithAuth(&authn.Basic{Username: user, Password: pass})); !notFound(err) {
				t.Errorf("ECR HEAD of the silent source's tag = %v, want 404", err)
			}
			if got := rep.Images[1]; got.Digest != want || got.Error != "" {
				t.Errorf("other image = %s %q, want %s", got.Digest, got.Error, want)
			}
		})
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	return "http://" + l.Addr().String()
}

// TestMirrorAWSTimeout: an ECR API endpoint that accepts connections and
// never answers ends the run after the SDK's retries, each bounded by the
// timeout.
func TestMirrorAWSTimeout(t *testing.T) {
	t.Parallel()
	cfg := motoConfig(t)
	cfg.BaseEndpoint = aws.String(silentServer(t))
	opts := append(testOptions(t, newRegistry(t), nil, nil), WithAWSConfig(cfg), WithTimeout(time.Second))
	rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/x:1", Repository: uniqueRepo(t)}}, opts...)
	host := strings.TrimPrefix(*cfg.BaseEndpoint, "http://")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), host+" stayed silent for the 1s timeout") ||
		!strings.Contains(err.Error(), "GetAuthorizationToken") || !strings.Contains(err.Error(), "attempts, 3") {
		t.Errorf("Mirror error = %v, want GetAuthorizationToken to time out after 3 attempts, naming the host and the timeout", err)
	}
	// The ECR API is the target: blamed as such, and every image says so
	// in the report (--json prints it).
	if !errors.Is(err, ErrTarget) || !strings.HasPrefix(err.Error(), "ECR side: ") {
		t.Errorf("Mirror error = %v, want %v starting with \"ECR side: \"", err, ErrTarget)
	}
	if rep == nil || len(rep.Images) != 1 || rep.Images[0].Status != TargetFailed || rep.Images[0].Action != Fail ||
		!strings.HasPrefix(rep.Images[0].Error, "ECR side: ") || rep.Failed != 1 {
		t.Errorf("report = %+v, want its one image %s with the ECR side error", rep, TargetFailed)
	}
}

// TestMirrorVerifiesManifests: manifest bytes that do not hash to the digest
// announced are never written; a HEAD that announces a digest the source
// does not serve is a warning that costs no pull.
func TestMirrorVerifiesManifests(t *testing.T) {
	t.Parallel()
	t.Run("tampered, ECR lacks the image", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		h.push(t, "tamp:1", randomImage(t, 1024, 1))
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.Tamper})
		repo := uniqueRepo(t)
		rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/tamp:1", Repository: repo}}, testOptions(t, target, h, nil)...)
		if !errors.Is(err, ErrDigestMismatch) || rep.Failed != 1 {
			t.Fatalf("Mirror error = %v, want %v", err, ErrDigestMismatch)
		}
		if d := head(t, target, repo+":1"); d != "" {
			t.Errorf("ECR has %s after a tampered manifest", d)
		}
	})
	t.Run("tampered, ECR holds the tag", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		old, _, images := seededStale(t, h, target, "tamp:2")
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.Tamper})
		rep, err := Mirror(context.Background(), images, testOptions(t, target, h, nil)...)
		if !errors.Is(err, ErrDigestMismatch) || rep.Images[0].Action != Fail {
			t.Fatalf("Mirror error = %v, action %s; want %v and fail", err, rep.Images[0].Action, ErrDigestMismatch)
		}
		if d := head(t, target, images[0].Repository+":2"); d != old {
			t.Errorf("ECR = %s, want %s untouched", d, old)
		}
	})
	t.Run("HEAD announces a wrong digest, ECR holds the tag", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		d := h.push(t, "wd:1", randomImage(t, 1024, 1))
		repo := uniqueRepo(t)
		images := []Image{{Source: "docker.io/library/wd:1", Repository: repo}}
		mustMirror(t, images, testOptions(t, target, h, nil)...)
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.WrongDigest})
		for run := 1; run <= 2; run++ {
			h.proxy.Reset()
			rep := mustMirror(t, images, testOptions(t, target, h, nil)...)
			got := rep.Images[0]
			if got.Action != Keep || got.Digest != d || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "has no manifest") {
				t.Errorf("run %d = %s %s %q, want keep %s with a warning about the HEAD", run, got.Action, got.Digest, got.Warnings, d)
			}
			if s := h.proxy.Stats(); s.ManifestGets != 0 || got.PullsUsed != 0 {
				t.Errorf("run %d made %d manifest GETs (%d pulls), want none", run, s.ManifestGets, got.PullsUsed)
			}
		}
	})
	t.Run("HEAD announces a wrong digest, ECR lacks the image", func(t *testing.T) {
		t.Parallel()
		h, target := newHub(t), newRegistry(t)
		d := h.push(t, "wd:2", randomImage(t, 1024, 1))
		repo := uniqueRepo(t)
		h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.WrongDigest})
		rep := mustMirror(t, []Image{{Source: "docker.io/library/wd:2", Repository: repo}}, testOptions(t, target, h, nil)...)
		got := rep.Images[0]
		if got.Digest != d || len(got.Warnings) == 0 || got.PullsUsed != 1 {
			t.Errorf("result = %s %q, %d pulls; want %s copied with a warning, 1 pull", got.Digest, got.Warnings, got.PullsUsed, d)
		}
		if g := head(t, target, repo+":2"); g != d {
			t.Errorf("ECR = %s, want %s", g, d)
		}
	})
}

// TestMirrorRetries: a connection dropped during a manifest GET is retried,
// a corrupt blob is read once more, and bytes count each blob once.
func TestMirrorRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fault     hubproxy.Fault
		wantPulls int64
		warning   string
	}{
		{"manifest GET cut", hubproxy.Fault{Mode: hubproxy.Cut, On: hubproxy.OnManifests, CutAfter: 10, Times: 1}, 2, ""},
		{"corrupt blob", hubproxy.Fault{Mode: hubproxy.Corrupt, Times: 1}, 1, "once more"},
		{"blob cut", hubproxy.Fault{Mode: hubproxy.Cut, CutAfter: 1000, Times: 1}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newRegistry(t)
			img := randomImage(t, 64<<10, 1)
			d := h.push(t, "retry:1", img)
			h.proxy.SetFault(tc.fault)
			rep := mustMirror(t, []Image{{Source: "docker.io/library/retry:1", Repository: uniqueRepo(t)}}, testOptions(t, target, h, nil)...)
			got := rep.Images[0]
			if got.Digest != d {
				t.Errorf("digest = %s, want %s", got.Digest, d)
			}
			if s := h.proxy.Stats(); s.Faults != 1 || s.Pulls != tc.wantPulls || int64(got.PullsUsed) != tc.wantPulls {
				t.Errorf("faults %d, pulls %d (report %d), want 1 fault and %d pulls", s.Faults, s.Pulls, got.PullsUsed, tc.wantPulls)
			}
			if tc.warning != "" && (len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want one saying %q", got.Warnings, tc.warning)
			}
			var size int64
			m, _ := img.Manifest()
			size += m.Config.Size
			for _, l := range m.Layers {
				size += l.Size
			}
			if got.Bytes != size {
				t.Errorf("bytes = %d, want %d: each blob once", got.Bytes, size)
			}
		})
	}
}

// faultyTarget is a registry behind a handler that can fail ECR-side
// requests and counts upload sessions opened and cancelled.
type faultyTarget struct {
	host             string
	posts, deletes   atomic.Int64
	failPut          atomic.Int64 // manifest PUTs to answer 401
	failCommit       atomic.Int64 // blob upload commits to answer 500
	cutPatch         atomic.Bool  // drop the connection on blob PATCHes
	failHeadAnswers  atomic.Bool  // 500 on manifest HEADs
	unauthAfterPatch atomic.Bool  // answer 401 to every request after the first blob PATCH
	unauth           atomic.Bool
	stallUploads     chan struct{} // when set, blob uploads over 1 MiB are not read until it closes
}

func newFaultyTarget(t *testing.T) *faultyTarget {
	return newFaultyTargetWith(t, &faultyTarget{})
}

// newFaultyTargetWith starts f. When f stalls uploads, its connections take
// in at most 64 KiB ahead of the handler, so a writer blocks soon: the
// kernel would otherwise buffer tens of MiB on loopback.
func newFaultyTargetWith(t *testing.T, f *faultyTarget) *faultyTarget {
	t.Helper()
	up, _ := url.Parse("http://" + newRegistry(t))
	rp := httputil.NewSingleHostReverseProxy(up)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uploads := strings.Contains(r.URL.Path, "/blobs/uploads/")
		if f.unauth.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if uploads && r.Method == http.MethodPatch && f.unauthAfterPatch.Load() {
			f.unauth.Store(true)
		}
		if uploads && f.stallUploads != nil && r.ContentLength > 1<<20 {
			select {
			case <-f.stallUploads:
			case <-r.Context().Done():
			}
			return
		}
		switch {
		case uploads && r.Method == http.MethodPost:
			f.posts.Add(1)
		case uploads && r.Method == http.MethodDelete:
			f.deletes.Add(1)
		case uploads && r.Method == http.MethodPatch && f.cutPatch.Load():
			panic(http.ErrAbortHandler)
		case uploads && r.Method == http.MethodPut && f.failCommit.Add(-1) >= 0:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut && f.failPut.Add(-1) >= 0:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}`))
			return
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead && f.failHeadAnswers.Load():
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	if f.stallUploads != nil {
		s.Listener = smallBuffers{s.Listener}
	}
	s.Start()
	t.Cleanup(s.Close)
	f.host = strings.TrimPrefix(s.URL, "http://")
	return f
}

type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		err = tc.SetReadBuffer(64 << 10)
	}
	return c, err
}

// TestMirrorBlamesTarget: ECR failing is reported as ECR's failure, with
// the target-failed status, never as a source that could not be read.
func TestMirrorBlamesTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(*faultyTarget)
		fault hubproxy.Fault // at the source
	}{
		{"ECR drops uploads", func(f *faultyTarget) { f.cutPatch.Store(true) }, hubproxy.Fault{}},
		// The source stalls once mid-blob; by the time the blob is tried
		// again, ECR refuses the login: ECR is what failed last.
		{"source stalls once, then ECR answers 401", func(f *faultyTarget) { f.unauthAfterPatch.Store(true) },
			hubproxy.Fault{Mode: hubproxy.Stall, CutAfter: 4096, Times: 1}},
		{"ECR answers 401 to the manifest", func(f *faultyTarget) { f.failPut.Store(100) }, hubproxy.Fault{}},
		{"ECR answers 500 to HEAD", func(f *faultyTarget) { f.failHeadAnswers.Store(true) }, hubproxy.Fault{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, target := newHub(t), newFaultyTarget(t)
			h.push(t, "blame:1", randomImage(t, 64<<10, 1))
			tc.setup(target)
			if tc.fault.Mode != "" {
				h.proxy.SetFault(tc.fault)
			}
			// One blob at a time: an upload cancelled while its POST is in
			// flight never learns its session's URL.
			rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/blame:1", Repository: uniqueRepo(t)}},
				append(testOptions(t, target.host, h, nil), blobJobs(1), WithTimeout(time.Second))...)
			if !errors.Is(err, ErrTarget) || errors.Is(err, ErrSourceUnreachable) {
				t.Fatalf("Mirror error = %v, want %v", err, ErrTarget)
			}
			got := rep.Images[0]
			if got.Status != TargetFailed || !strings.Contains(got.Error, "ECR side") || strings.Contains(got.Error, "reading") {
				t.Errorf("result = %s %q, want %s blaming ECR", got.Status, got.Error, TargetFailed)
			}
			if tc.name == "ECR drops uploads" && target.deletes.Load() != target.posts.Load() {
				t.Errorf("upload sessions opened %d, cancelled %d; want every failed one cancelled", target.posts.Load(), target.deletes.Load())
			}
		})
	}
}

// TestMirrorTargetStopsReading: an ECR that stops taking in an upload
// fails the image after the timeout, blamed on ECR, instead of hanging.
func TestMirrorTargetStopsReading(t *testing.T) {
	t.Parallel()
	stall := make(chan struct{})
	h, target := newHub(t), newFaultyTargetWith(t, &faultyTarget{stallUploads: stall})
	t.Cleanup(func() { close(stall) })
	// Larger than what the sockets of both ends buffer, so the writer
	// blocks once the target stops reading.
	h.push(t, "big:1", randomImage(t, 16<<20, 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Mirror(ctx, []Image{{Source: "docker.io/library/big:1", Repository: uniqueRepo(t)}},
		append(testOptions(t, target.host, h, nil), WithTimeout(time.Second))...)
	if ctx.Err() != nil {
		t.Fatal("Mirror still writing to a target that stopped reading after a minute")
	}
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrTarget) {
		t.Fatalf("Mirror error = %v, want %v and %v", err, ErrTimeout, ErrTarget)
	}
	got := rep.Images[0]
	for _, want := range []string{"ECR side", target.host, "1s timeout", "sending"} {
		if !strings.Contains(got.Error, want) {
			t.Errorf("error %q, want it to name %q", got.Error, want)
		}
	}
	if got.Status != TargetFailed {
		t.Errorf("status %s, want %s", got.Status, TargetFailed)
	}
}

// TestMirrorCancelsFailedUploads: a commit ECR refuses once is retried in a
// new session, and the failed one is cancelled.
func TestMirrorCancelsFailedUploads(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newFaultyTarget(t)
	d := h.push(t, "sess:1", randomImage(t, 1024, 1))
	target.failCommit.Store(1)
	rep := mustMirror(t, []Image{{Source: "docker.io/library/sess:1", Repository: uniqueRepo(t)}}, testOptions(t, target.host, h, nil)...)
	if rep.Images[0].Digest != d {
		t.Errorf("digest = %s, want %s", rep.Images[0].Digest, d)
	}
	if n := target.deletes.Load(); n != 1 {
		t.Errorf("upload sessions cancelled = %d (opened %d), want 1", n, target.posts.Load())
	}
}

// TestMirrorBudgetBeforeWriting: with two pulls left and an index needing
// four, the index alone is read; no repository is created and no platform
// manifest is read.
func TestMirrorBudgetBeforeWriting(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	h.push(t, "bud:1", multiArch(t, types.DockerManifestList, "linux/amd64", "linux/arm64", "linux/ppc64le"))
	repo := uniqueRepo(t)
	h.proxy.SetQuota(100, 2, false)
	images := []Image{{Source: "docker.io/library/bud:1", Repository: repo}}

	rep, err := Mirror(context.Background(), images, append(testOptions(t, target, h, nil), WithDryRun(true))...)
	if err != nil || rep.Images[0].PullsNeeded != 2 || !rep.Images[0].PullsEstimate || !rep.PullsEstimate {
		t.Fatalf("dry run = %v, needed %d estimate %t/%t; want 2, marked as an estimate", err, rep.Images[0].PullsNeeded, rep.Images[0].PullsEstimate, rep.PullsEstimate)
	}

	rep, err = Mirror(context.Background(), images, testOptions(t, target, h, nil)...)
	if !errors.Is(err, ErrPullBudget) {
		t.Fatalf("Mirror error = %v, want %v", err, ErrPullBudget)
	}
	if !strings.Contains(err.Error(), "index GET") || !strings.Contains(err.Error(), "3 more counted pulls") {
		t.Errorf("error %q, want it to say the index GET was spent and 3 more are needed", err)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 1 || s.Pulls != 1 || rep.PullsUsed != 1 {
		t.Errorf("hub saw %d manifest GETs (%d pulls, report %d), want only the index's", s.ManifestGets, s.Pulls, rep.PullsUsed)
	}
	out, derr := awsecr.NewFromConfig(motoConfig(t)).DescribeRepositories(context.Background(), &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if derr == nil {
		t.Errorf("repository %s was created: %+v", repo, out.Repositories)
	}
}

// TestAWSTimeoutsWithCABundle: the SDK adds AWS_CA_BUNDLE's roots only to
// its own client type, so the timeouts must not replace it before the
// configuration is loaded. It sets environment variables, so it is not
// parallel.
func TestAWSTimeoutsWithCABundle(t *testing.T) {
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	defer tls.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CA_BUNDLE": bundle, "AWS_ENDPOINT_URL_ECR": motoURL(t), "AWS_ENDPOINT_URL_STS": motoURL(t),
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
	got, err := ResolveTarget(context.Background(), WithRegion("us-east-1"), WithTimeout(time.Second))
	if err != nil || got.Account != motoAccount {
		t.Errorf("ResolveTarget with AWS_CA_BUNDLE = %+v, %v; want account %s", got, err, motoAccount)
	}
}

// TestMirrorSourceDownWhileECRAnswers: the source and ECR are checked at
// once, and a source failure that arrives before ECR's answer is judged
// once ECR has answered: ECR holds the tag, so the failing source is not
// retried and ECR's copy is kept at once.
func TestMirrorSourceDownWhileECRAnswers(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	old, _, images := seededStale(t, h, target, "down:1")
	h.proxy.SetFault(hubproxy.Fault{Mode: hubproxy.ServerError, Method: http.MethodHead})
	rep, err := Mirror(context.Background(), images, testOptions(t, target, h, nil)...)
	if err != nil {
		t.Fatalf("Mirror error = %v, want ECR's copy kept", err)
	}
	if got := rep.Images[0]; got.Action != Keep || got.Digest != old {
		t.Errorf("result = %s %s, want keep %s", got.Action, got.Digest, old)
	}
	if s := h.proxy.Stats(); s.ManifestHeads != 1 || s.ManifestGets != 0 {
		t.Errorf("manifest HEADs = %d, GETs = %d; want one HEAD, not retried, and no GET", s.ManifestHeads, s.ManifestGets)
	}
}
