package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"ecrbase/internal/registry"
)

// Quota is a registry's pull quota as its ratelimit-* headers last showed it.
type Quota struct {
	Registry  string `json:"registry"`
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Window    int    `json:"window_seconds,omitempty"`
}

func (q *Quota) String() string {
	s := fmt.Sprintf("%d of %d pulls left", q.Remaining, q.Limit)
	if q.Window > 0 {
		s += fmt.Sprintf(" per %s window", time.Duration(q.Window)*time.Second)
	}
	return s
}

// book records, per source host, the quota seen, the counted pulls made and
// the last Retry-After of a 429.
type book struct {
	mu         sync.Mutex
	quotas     map[string]*Quota
	pulls      map[string]int
	retryAfter map[string]time.Duration
}

func newBook() *book {
	return &book{quotas: map[string]*Quota{}, pulls: map[string]int{}, retryAfter: map[string]time.Duration{}}
}

// parseLimit reads a Docker Hub rate-limit header such as "100;w=21600"
// (older answers: "100, 100;w=21600").
func parseLimit(v string) (n, window int, ok bool) {
	if v == "" {
		return 0, 0, false
	}
	parts := strings.Split(v, ",")
	p := parts[0]
	for _, q := range parts {
		if strings.Contains(q, "w=") {
			p = q
		}
	}
	fields := strings.Split(p, ";")
	n, err := strconv.Atoi(strings.TrimSpace(fields[0]))
	if err != nil {
		return 0, 0, false
	}
	for _, f := range fields[1:] {
		if w, found := strings.CutPrefix(strings.TrimSpace(f), "w="); found {
			window, _ = strconv.Atoi(w)
		}
	}
	return n, window, true
}

func (b *book) observe(host string, h http.Header) {
	limit, w1, ok1 := parseLimit(h.Get("Ratelimit-Limit"))
	rem, w2, ok2 := parseLimit(h.Get("Ratelimit-Remaining"))
	if !ok1 || !ok2 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.quotas[host] = &Quota{Registry: host, Limit: limit, Remaining: rem, Window: max(w1, w2)}
}

// quota returns a copy of the last quota seen on host, or nil.
func (b *book) quota(host string) *Quota {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.quotas[host]; q != nil {
		c := *q
		return &c
	}
	return nil
}

func (b *book) all() []Quota {
	b.mu.Lock()
	defer b.mu.Unlock()
	var qs []Quota
	for _, q := range b.quotas {
		qs = append(qs, *q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Registry < qs[j].Registry })
	return qs
}

// imageCtx travels in request contexts so the transport can charge counted
// pulls and report waits to the image that caused them.
type imageCtx struct {
	source string
	pulls  atomic.Int64
}

type imageCtxKey struct{}

func withImage(ctx context.Context, source string) (context.Context, *imageCtx) {
	ic := &imageCtx{source: source}
	return context.WithValue(ctx, imageCtxKey{}, ic), ic
}

var manifestPath = regexp.MustCompile(`^/v2/.+/manifests/[^/]+$`)

// isPull reports whether a request is a manifest GET, which Docker Hub
// counts as a pull; HEAD requests are free.
func isPull(r *http.Request) bool {
	return r.Method == http.MethodGet && manifestPath.MatchString(r.URL.Path)
}

// schemes decides which hosts may be spoken to over plain HTTP.
type schemes struct {
	explicit map[string]string // host -> scheme from a mirror or endpoint URL
	insecure map[string]bool
}

func (s schemes) forceHTTPS(host string) bool {
	if sch, ok := s.explicit[host]; ok {
		return sch == "https"
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	return !isLoopback(hostname) && !s.insecure[host] && !s.insecure[hostname]
}

func isLoopback(hostname string) bool { return registry.IsLoopback(hostname) }

// guard upgrades plain HTTP to HTTPS for hosts that may not use it:
// go-containerregistry picks HTTP by itself for RFC 1918 and .local hosts.
type guard struct {
	inner   http.RoundTripper
	schemes schemes
}

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && g.schemes.forceHTTPS(req.URL.Host) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return g.inner.RoundTrip(req)
}

// sourceTransport reads rate-limit headers, charges counted pulls and
// handles 429: Retry-After is honoured (up to retryAfter, or MaxWait with
// Wait), a used-up window is waited out only with Wait. Everything else is
// left to go-containerregistry's retry transport above it.
type sourceTransport struct {
	inner http.RoundTripper
	book  *book
	o     *Options
	emit  func(Event)
}

func (t *sourceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ic, _ := ctx.Value(imageCtxKey{}).(*imageCtx)
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		t.book.observe(req.URL.Host, resp.Header)
		if isPull(req) && resp.StatusCode == http.StatusOK {
			t.book.mu.Lock()
			t.book.pulls[req.URL.Host]++
			t.book.mu.Unlock()
			if ic != nil {
				ic.pulls.Add(1)
			}
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))

		ra := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		t.book.mu.Lock()
		t.book.retryAfter[req.URL.Host] = ra
		t.book.mu.Unlock()
		var d time.Duration
		switch {
		case ra > 0 && (ra <= t.o.retryAfter || t.o.Wait && waited+ra <= t.o.MaxWait):
			d = ra
		case ra == 0 && t.o.Wait && waited < t.o.MaxWait:
			d = min(t.o.waitStep<<min(attempt, 8), 5*time.Minute, t.o.MaxWait-waited)
		default:
			return resp, nil
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return resp, nil
			}
			b, err := req.GetBody()
			if err != nil {
				return resp, nil
			}
			req = req.Clone(ctx)
			req.Body = b
		}
		if t.emit != nil {
			src := req.URL.Host
			if ic != nil {
				src = ic.source
			}
			msg := fmt.Sprintf("%s answered 429, waiting %s", req.URL.Host, d.Round(time.Millisecond))
			if q := t.book.quota(req.URL.Host); q != nil {
				msg += " (quota seen: " + q.String() + ")"
			}
			t.emit(Event{Image: src, Kind: "wait", Message: msg})
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		waited += d
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date; zero means none.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryable decides which errors go-containerregistry retries with backoff:
// 5xx answers and dropped connections. A source's 429 is handled by
// sourceTransport and never retried blindly: each retry would be another
// counted pull attempt against a used-up window.
func retryable(allow429 bool) func(error) bool {
	return func(err error) bool {
		if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		var te *transport.Error
		if errors.As(err, &te) {
			if te.StatusCode == http.StatusTooManyRequests {
				return allow429
			}
			return te.Temporary()
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
			errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) {
			return true
		}
		var tmp interface{ Temporary() bool }
		if errors.As(err, &tmp) && tmp.Temporary() {
			return true
		}
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
}

// unreachable reports whether err means the source could not be reached
// (429, 5xx, network), as opposed to answering "no such image" or "denied".
func unreachable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// sourceError turns a 429 from host into a RateLimitError that quotes the
// quota seen; other errors are returned as they are.
func (b *book) sourceError(host string, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusTooManyRequests {
		return err
	}
	b.mu.Lock()
	ra := b.retryAfter[host]
	b.mu.Unlock()
	return &RateLimitError{Registry: host, Quota: b.quota(host), RetryAfter: ra}
}
