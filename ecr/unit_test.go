package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n, w int
		ok   bool
	}{
		{"100;w=21600", 100, 21600, true},
		{"76;w=21600", 76, 21600, true},
		{"100, 100;w=21600", 100, 21600, true},
		{"200", 200, 0, true},
		{"", 0, 0, false},
		{"lots", 0, 0, false},
	} {
		n, w, ok := parseLimit(tc.in)
		if n != tc.n || w != tc.w || ok != tc.ok {
			t.Errorf("parseLimit(%q) = %d, %d, %t; want %d, %d, %t", tc.in, n, w, ok, tc.n, tc.w, tc.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseSource(t *testing.T) {
	t.Parallel()
	hub, err := parseMirror("docker.io", "http://127.0.0.1:5000/hub-remote/", nil)
	if err != nil {
		t.Fatal(err)
	}
	quay, err := parseMirror("quay.io", "https://artifactory.example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	mirrors := map[string]mirror{"index.docker.io": hub, "quay.io": quay}
	type out struct{ Canonical, Read, Tag, Digest string }
	const d = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	for _, tc := range []struct {
		in      string
		want    out
		wantErr bool
	}{
		{in: "docker.io/library/python:3.7", want: out{"index.docker.io/library/python", "127.0.0.1:5000/hub-remote/library/python", "3.7", ""}},
		{in: "python:3.7", want: out{"index.docker.io/library/python", "127.0.0.1:5000/hub-remote/library/python", "3.7", ""}},
		{in: "quay.io/org/app:v1@" + d, want: out{"quay.io/org/app", "artifactory.example.com/org/app", "v1", d}},
		{in: "ghcr.io/org/app@" + d, want: out{"ghcr.io/org/app", "ghcr.io/org/app", "", d}},
		{in: "docker.io/library/python", wantErr: true},
		{in: "Not A Reference", wantErr: true},
	} {
		s, err := parseSource(tc.in, mirrors, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseSource(%q) error = %v, want error %t", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		got := out{s.canonical.String(), s.read.String(), s.tag, s.digest}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseSource(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseMirror(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url      string
		insecure []string
		ok       bool
	}{
		{"https://mirror.example.com", nil, true},
		{"http://127.0.0.1:5000", nil, true},
		{"http://localhost:5000", nil, true},
		{"http://[::1]:5000", nil, true},
		{"http://10.0.0.5:5000", nil, false},
		{"http://mirror.example.com", nil, false},
		{"http://mirror.example.com", []string{"mirror.example.com"}, true},
		{"http://mirror.example.com:8080", []string{"mirror.example.com:8080"}, true},
		{"ftp://mirror.example.com", nil, false},
		{"mirror.example.com", nil, false},
	} {
		if _, err := parseMirror("docker.io", tc.url, tc.insecure); (err == nil) != tc.ok {
			t.Errorf("parseMirror(%q, insecure %v) error = %v, want ok %t", tc.url, tc.insecure, err, tc.ok)
		}
	}
}

type schemeRecorder struct{ got string }

func (s *schemeRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s.got = r.URL.Scheme
	return nil, errors.New("recorded")
}

func TestGuardAllowsHTTPOnlyWhereAllowed(t *testing.T) {
	t.Parallel()
	sch := schemes{
		explicit: map[string]string{"mirror.internal:5000": "http", "10.1.1.1:443": "https"},
		insecure: map[string]bool{"registry.lan": true},
	}
	for _, tc := range []struct {
		host, want string
	}{
		{"127.0.0.1:5000", "http"},
		{"localhost", "http"},
		{"registry.lan:5000", "http"},
		{"mirror.internal:5000", "http"},
		{"10.0.0.5:5000", "https"}, // go-containerregistry would pick HTTP for RFC 1918
		{"10.1.1.1:443", "https"},
		{"registry.local", "https"},
	} {
		rec := &schemeRecorder{}
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/v2/", nil)
		_, _ = httpsUpgrader{inner: rec, schemes: sch}.RoundTrip(req)
		if rec.got != tc.want {
			t.Errorf("guard sent http://%s as %s, want %s", tc.host, rec.got, tc.want)
		}
	}
}

func TestSelectPlatforms(t *testing.T) {
	t.Parallel()
	desc := func(os, arch, variant string) v1.Descriptor {
		return v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch, Variant: variant}}
	}
	all := []v1.Descriptor{desc("linux", "amd64", ""), desc("linux", "arm64", "v8"), desc("linux", "arm", "v7"),
		desc("linux", "arm", "v6"), desc("unknown", "unknown", ""), {}}
	for _, tc := range []struct {
		want []string
		got  []string
	}{
		{[]string{"linux/arm64"}, []string{"linux/arm64/v8"}},
		{[]string{"linux/arm64/v8"}, []string{"linux/arm64/v8"}},
		{[]string{"linux/arm"}, []string{"linux/arm/v7", "linux/arm/v6"}},
		{[]string{"linux/arm/v7", "linux/amd64"}, []string{"linux/amd64", "linux/arm/v7"}},
		{[]string{"windows/amd64"}, nil},
	} {
		var want []v1.Platform
		for _, p := range tc.want {
			pl, err := parsePlatform(p)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, pl)
		}
		got := platformsOf(selectPlatforms(all, want))
		if diff := cmp.Diff(tc.got, got); diff != "" {
			t.Errorf("selectPlatforms(%v) mismatch (-want +got):\n%s", tc.want, diff)
		}
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	tooMany := &transport.Error{StatusCode: http.StatusTooManyRequests, Errors: []transport.Diagnostic{{Code: transport.TooManyRequestsErrorCode}}}
	for _, tc := range []struct {
		name                    string
		err                     error
		source, target, unreach bool
	}{
		{"429 TOOMANYREQUESTS", tooMany, false, true, true},
		{"503", &transport.Error{StatusCode: 503}, true, true, true},
		{"404", &transport.Error{StatusCode: 404}, false, false, false},
		{"401", &transport.Error{StatusCode: 401}, false, false, false},
		{"cut body", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true, true, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true, true, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, true, true},
		{"canceled", context.Canceled, false, false, false},
		{"caller's deadline", context.DeadlineExceeded, false, false, false},
		{"silent server", &TimeoutError{Host: "h", Limit: time.Second, While: "waiting", Err: context.DeadlineExceeded}, true, true, true},
		{"source failed while ECR has the image", &keptError{host: "h", err: fmt.Errorf("read: %w", syscall.ECONNRESET)}, false, false, true},
		{"manifest mismatch", &DigestError{URL: "h/x", Announced: "sha256:a", Got: "sha256:b"}, false, false, false},
		{"digest mismatch", errors.New("error verifying sha256 checksum"), false, false, false},
	} {
		if got := retryable(false)(tc.err); got != tc.source {
			t.Errorf("source retryable(%s) = %t, want %t", tc.name, got, tc.source)
		}
		if got := retryable(true)(tc.err); got != tc.target {
			t.Errorf("target retryable(%s) = %t, want %t", tc.name, got, tc.target)
		}
		if got := unreachable(tc.err); got != tc.unreach {
			t.Errorf("unreachable(%s) = %t, want %t", tc.name, got, tc.unreach)
		}
	}
}

func TestRateLimitErrorQuotesQuota(t *testing.T) {
	t.Parallel()
	b := newPullLedger()
	h := http.Header{}
	h.Set("ratelimit-limit", "100;w=21600")
	h.Set("ratelimit-remaining", "0;w=21600")
	b.observe("index.docker.io", h)
	b.last["index.docker.io"] = last429{retryAfter: 30 * time.Second, pullLimit: true}
	err := b.sourceError("index.docker.io", &transport.Error{StatusCode: http.StatusTooManyRequests})
	want := "index.docker.io: pull rate limit reached (TOOMANYREQUESTS), quota seen: 0 of 100 pulls left per 6h0m0s window, retry after 30s"
	if !errors.Is(err, ErrRateLimited) || err.Error() != want {
		t.Errorf("sourceError = %q, want %q (and errors.Is ErrRateLimited)", err, want)
	}
	b.last["index.docker.io"] = last429{retryAfter: time.Second}
	err = b.sourceError("index.docker.io", &transport.Error{StatusCode: http.StatusTooManyRequests})
	if want := "abuse limit"; !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "TOOMANYREQUESTS") {
		t.Errorf("sourceError for a bare 429 = %q, want %q and no TOOMANYREQUESTS", err, want)
	}
	if other := errors.New("x"); b.sourceError("index.docker.io", other) != other {
		t.Errorf("sourceError changed a non-429 error")
	}
}

func TestSeverityRank(t *testing.T) {
	t.Parallel()
	order := []string{"UNDEFINED", "INFORMATIONAL", "LOW", "MEDIUM", "high", "CRITICAL"}
	for i := 1; i < len(order); i++ {
		if severityRank(order[i-1]) >= severityRank(order[i]) {
			t.Errorf("severityRank(%s) >= severityRank(%s)", order[i-1], order[i])
		}
	}
}

func TestEventString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Image: "docker.io/library/python:3.7", Kind: "done", Status: "copied", Digest: "sha256:ab", Bytes: 3 << 20, Elapsed: 1500 * time.Millisecond, Message: "x"},
			"docker.io/library/python:3.7 done copied sha256:ab 3.0 MiB 1.5s: x"},
		{Event{Image: "a:1", Kind: "warning", Message: "source unreachable"}, "a:1 warning: source unreachable"},
		{Event{Image: "a:1", Kind: "blob", Bytes: 512}, "a:1 blob 512 B"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("Event.String() = %q, want %q", got, tc.want)
		}
	}
}
