package ecr

import (
	"bytes"
	"context"
	"encoding/hex"
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

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

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

// pullLedger records, per source host, the quota seen, the counted pulls made and
// the last 429.
type pullLedger struct {
	mu       sync.Mutex
	quotas   map[string]*Quota
	pulls    map[string]int
	last     map[string]last429
	reserved map[string]int // pulls promised to copies under way, not yet made
}

// last429 is what the last 429 of a host said.
type last429 struct {
	retryAfter time.Duration
	pullLimit  bool // TOOMANYREQUESTS with a quota, not a bare 429
}

func newPullLedger() *pullLedger {
	return &pullLedger{quotas: map[string]*Quota{}, pulls: map[string]int{}, last: map[string]last429{}, reserved: map[string]int{}}
}

// reserve promises n pulls of host's quota to one image, unless the quota
// seen, less what other copies were promised, is smaller. With no quota seen
// there is nothing to go by, and the promise is kept.
func (b *pullLedger) reserve(ic *imageCtx, host string, n int) (q *Quota, others int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	others = b.reserved[host]
	if cur := b.quotas[host]; cur != nil {
		c := *cur
		q = &c
		if n > c.Remaining-others {
			return q, others, false
		}
	}
	b.reserved[host] += n
	ic.reserved.Add(int64(n))
	return q, others, true
}

// spend turns one promised pull of ic into a pull made.
func (b *pullLedger) spend(ic *imageCtx, host string) {
	if ic.reserved.Load() <= 0 {
		return
	}
	ic.reserved.Add(-1)
	b.mu.Lock()
	b.reserved[host]--
	b.mu.Unlock()
}

// promised returns the pulls of host's quota promised to copies under way.
func (b *pullLedger) promised(host string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved[host]
}

// release gives back what ic was promised and did not use.
func (b *pullLedger) release(ic *imageCtx, host string) {
	n := ic.reserved.Swap(0)
	b.mu.Lock()
	b.reserved[host] -= int(n)
	b.mu.Unlock()
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

func (b *pullLedger) observe(host string, h http.Header) {
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
func (b *pullLedger) quota(host string) *Quota {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.quotas[host]; q != nil {
		c := *q
		return &c
	}
	return nil
}

func (b *pullLedger) all() []Quota {
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
	source   string
	pulls    atomic.Int64
	waited   atomic.Int64 // nanoseconds spent waiting on 429s, all requests together
	first429 atomic.Int64 // when the image's first 429 came, in Unix nanoseconds
	reserved atomic.Int64 // pulls of the quota promised to this image and not yet made
	keep     atomic.Bool  // ECR has the tag: a 429 is not waited out, ECR's copy is kept
	// tgtKnown, when set, is closed once ECR's check of the tag has
	// answered and keep holds its result; the source check runs at the
	// same time.
	tgtKnown chan struct{}
}

// awaitTarget waits until keep holds ECR's answer, so that a source failure
// or 429 seen while ECR is still being asked is judged as if ECR had been
// asked first.
func (ic *imageCtx) awaitTarget(ctx context.Context) {
	if ic == nil || ic.tgtKnown == nil {
		return
	}
	select {
	case <-ic.tgtKnown:
	case <-ctx.Done():
	}
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

// httpsUpgrader upgrades plain HTTP to HTTPS for hosts that may not use it:
// go-containerregistry picks HTTP by itself for RFC 1918 and .local hosts.
type httpsUpgrader struct {
	inner   http.RoundTripper
	schemes schemes
}

func (g httpsUpgrader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && g.schemes.forceHTTPS(req.URL.Host) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return g.inner.RoundTrip(req)
}

// sourceTransport reads rate-limit headers, charges counted pulls, reads
// and verifies manifest bodies, and handles 429. Everything else is left to
// go-containerregistry's retry transport above it.
type sourceTransport struct {
	inner  http.RoundTripper
	ledger *pullLedger
	o      *Options
	emit   func(Event)
}

// RoundTrip keeps a loop of its own for 429 because no retry option of
// go-containerregistry can honour Retry-After or bound the total wait of
// one image: its backoff is fixed and counts attempts, not time.
//
// Without Wait an image waits at most noWaitLimit in all (and not at all
// when ECR has the tag, whose copy is then kept at once); with Wait at most
// MaxWait. A 429 without Retry-After is a used-up window: it is waited out
// only with Wait.
func (t *sourceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ic, _ := ctx.Value(imageCtxKey{}).(*imageCtx)
	var localWaited, localFirst atomic.Int64
	waited, first := &localWaited, &localFirst
	if ic != nil {
		waited, first = &ic.waited, &ic.first429
	}
	// When ECR has the tag, a source that fails is not retried: ECR's copy
	// is kept at once (with Wait, the source gets its retries).
	keep := func() bool {
		ic.awaitTarget(ctx)
		return ic != nil && ic.keep.Load()
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if err != nil {
			if !t.o.Wait && keep() {
				return nil, &keptError{host: req.URL.Host, err: err}
			}
			return nil, err
		}
		if resp.StatusCode >= 500 && !t.o.Wait && keep() {
			resp.Body.Close()
			return nil, &keptError{host: req.URL.Host, err: fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)}
		}
		t.ledger.observe(req.URL.Host, resp.Header)
		if isPull(req) && resp.StatusCode == http.StatusOK {
			t.ledger.mu.Lock()
			t.ledger.pulls[req.URL.Host]++
			t.ledger.mu.Unlock()
			if ic != nil {
				ic.pulls.Add(1)
				t.ledger.spend(ic, req.URL.Host)
			}
			return readManifest(req, resp)
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))

		ra := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		_, _, hasQuota := parseLimit(resp.Header.Get("Ratelimit-Remaining"))
		pullLimit := hasQuota || bytes.Contains(bytes.ToUpper(body), []byte("TOOMANYREQUESTS"))
		t.ledger.mu.Lock()
		t.ledger.last[req.URL.Host] = last429{retryAfter: ra, pullLimit: pullLimit}
		t.ledger.mu.Unlock()

		limit := t.o.noWaitLimit
		switch {
		case t.o.Wait:
			limit = t.o.MaxWait
		case keep():
			limit = 0
		}
		// The bound is on time since the image's first 429, so the
		// requests between the waits count too.
		first.CompareAndSwap(0, time.Now().UnixNano())
		w := time.Since(time.Unix(0, first.Load()))
		var d time.Duration
		switch {
		case ra > 0 && w+ra <= limit:
			d = ra
		case ra == 0 && t.o.Wait && w < limit:
			d = min(t.o.waitStep<<min(attempt, 8), 5*time.Minute, limit-w)
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
			kind := "429 (pull limit)"
			if !pullLimit {
				kind = "a bare 429 (abuse limit, not the pull window)"
			}
			msg := fmt.Sprintf("%s answered %s, waiting %s (%s of %s used)", req.URL.Host, kind,
				d.Round(time.Millisecond), (w + d).Round(time.Millisecond), limit)
			if q := t.ledger.quota(req.URL.Host); q != nil {
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
		waited.Add(int64(d))
	}
}

// keptError is a source failure on an image ECR has: a net.Error that is
// neither temporary nor a timeout, so no retry predicate retries it, and
// unreachable reports it.
type keptError struct {
	host string
	err  error
}

func (e *keptError) Error() string {
	return e.host + " failed, not retried while ECR has the image: " + e.err.Error()
}
func (e *keptError) Unwrap() error   { return e.err }
func (e *keptError) Timeout() bool   { return false }
func (e *keptError) Temporary() bool { return false }

// maxManifest bounds the manifest bytes read; ECR itself takes 4 MiB.
const maxManifest = 16 << 20

// readManifest reads a manifest body whole, inside RoundTrip, so a dropped
// connection or a stalled body is a RoundTrip error that the retry
// transport above retries (go-containerregistry reads bodies after its
// retries are done). The bytes must hash to the Docker-Content-Digest the
// source sent with them; go-containerregistry checks reads by digest but
// not by tag.
func readManifest(req *http.Request, resp *http.Response) (*http.Response, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", req.URL.Redacted(), err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("reading manifest %s: larger than %d MiB", req.URL.Redacted(), maxManifest>>20)
	}
	mt := resp.Header.Get("Content-Type")
	if announced, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest")); err == nil && !types.MediaType(mt).IsSchema1() {
		if h, err := v1.Hasher(announced.Algorithm); err == nil {
			h.Write(b)
			if got := hex.EncodeToString(h.Sum(nil)); got != announced.Hex {
				return nil, &DigestError{URL: req.URL.Host + req.URL.Path, Announced: announced.String(), Got: announced.Algorithm + ":" + got}
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
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
		// A TimeoutError is a silent server, not the caller's deadline
		// (net/http's timeouts also match context.DeadlineExceeded).
		var kept *keptError
		if errors.As(err, &kept) {
			return false
		}
		var silent *TimeoutError
		if errors.As(err, &silent) {
			return true
		}
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
	var silent *TimeoutError
	var kept *keptError
	if errors.As(err, &silent) || errors.As(err, &kept) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up, the source did not
	}
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
func (b *pullLedger) sourceError(host string, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusTooManyRequests {
		return err
	}
	b.mu.Lock()
	l := b.last[host]
	b.mu.Unlock()
	return &RateLimitError{Registry: host, PullLimit: l.pullLimit, Quota: b.quota(host), RetryAfter: l.retryAfter}
}
