package hubproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Mode selects the fault the proxy injects.
type Mode string

// The fault modes.
const (
	// Normal forwards every request.
	Normal Mode = "normal"
	// TooManyRequests answers manifest GETs (counted pulls) with 429 and a
	// TOOMANYREQUESTS body, as Docker Hub does when the window is used up.
	TooManyRequests Mode = "429"
	// ServerError answers every /v2/ request, the ping included, with a 5xx:
	// the registry looks down.
	ServerError Mode = "5xx"
	// Cut sends CutAfter bytes of a body (blobs by default) and then drops
	// the connection.
	Cut Mode = "cut"
	// Hang accepts a request (manifests by default) and never answers,
	// until the client gives up.
	Hang Mode = "hang"
	// Stall sends the headers and CutAfter bytes of a body (blobs by
	// default), then sends nothing more until the client gives up.
	Stall Mode = "stall"
	// Tamper changes a manifest body on GET and keeps the upstream's
	// Docker-Content-Digest, as a broken or hostile proxy would.
	Tamper Mode = "tamper"
	// WrongDigest answers manifest HEADs with a Docker-Content-Digest that
	// is not the digest of what a GET returns.
	WrongDigest Mode = "wrong-digest"
	// Corrupt flips the first byte of a blob body, keeping its length.
	Corrupt Mode = "corrupt"
)

// Kinds of request a fault can be aimed at with Fault.On.
const (
	OnManifests = "manifest"
	OnBlobs     = "blob"
)

// Window is the Docker Hub rate-limit window in seconds, sent as w=21600.
const Window = 21600

// DefaultLimit is the pull limit of an anonymous Docker Hub user.
const DefaultLimit = 100

// Fault describes what the proxy does to the requests it affects.
type Fault struct {
	Mode Mode `json:"mode"`
	// RetryAfter, for TooManyRequests, is sent as Retry-After in seconds;
	// zero sends no Retry-After header.
	RetryAfter int `json:"retry_after,omitempty"`
	// Status, for ServerError, is the status sent; zero means 503.
	Status int `json:"status,omitempty"`
	// CutAfter, for Cut and Stall, is how many bytes of the body are sent.
	CutAfter int64 `json:"cut_after,omitempty"`
	// Bare, for TooManyRequests, sends a 429 with no body and no rate-limit
	// headers, as Docker Hub's abuse limit does, instead of the pull limit's
	// TOOMANYREQUESTS with a quota.
	Bare bool `json:"bare,omitempty"`
	// On aims Cut, Hang and Stall at "manifest" or "blob" requests instead
	// of their default kind.
	On string `json:"on,omitempty"`
	// Method, when set, limits the fault to requests with this method.
	Method string `json:"method,omitempty"`
	// Times is how many faulty answers are given before the proxy returns
	// to Normal by itself; zero keeps the fault until it is changed.
	Times int `json:"times,omitempty"`
}

// Stats is a snapshot of the proxy's counters and settings.
type Stats struct {
	Requests      int64 `json:"requests"`
	ManifestGets  int64 `json:"manifest_gets"`  // every manifest GET received, faulted or not
	ManifestHeads int64 `json:"manifest_heads"` // every manifest HEAD received
	BlobGets      int64 `json:"blob_gets"`
	BlobHeads     int64 `json:"blob_heads"`
	BlobBytes     int64 `json:"blob_bytes"` // blob body bytes sent to clients
	Pulls         int64 `json:"pulls"`      // manifest GETs answered 200: the pulls spent
	Tokens        int64 `json:"tokens"`     // token requests answered, with Bearer on
	Challenges    int64 `json:"challenges"` // 401 answers asking for a token, with Bearer on
	Faults        int64 `json:"faults"`     // answers changed by a fault or the enforced quota
	Limit         int   `json:"limit"`
	Remaining     int   `json:"remaining"`
	Enforce       bool  `json:"enforce"`
	Fault         Fault `json:"fault"`
}

// Proxy is an http.Handler that forwards to an upstream registry.
type Proxy struct {
	rp *httputil.ReverseProxy

	requests, manifestGets, manifestHeads atomic.Int64
	blobGets, blobHeads, blobBytes        atomic.Int64
	pulls, faults                         atomic.Int64
	tokens, challenges                    atomic.Int64

	bearer atomic.Bool

	closed    chan struct{} // closed by Close: hung requests end
	closeOnce sync.Once

	mu        sync.Mutex
	fault     Fault
	faulted   int // faulty answers given under the current fault
	limit     int
	remaining int
	enforce   bool
}

// New returns a proxy in front of upstream (for example
// http://127.0.0.1:5001) with a pull limit of limit; a limit of zero or less
// sends no rate-limit headers, like a registry other than Docker Hub.
func New(upstream string, limit int) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("parsing upstream %q: %w", upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("parsing upstream %q: want http(s)://host[:port]", upstream)
	}
	p := &Proxy{fault: Fault{Mode: Normal}, limit: limit, remaining: limit, closed: make(chan struct{})}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Keep the client's Host so that upload locations the upstream
			// builds from it point back through the proxy.
			r.Out.Host = r.In.Host
		},
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	return p, nil
}

// Close ends the requests held by Hang and Stall; call it before closing the
// server, whose Close waits for them.
func (p *Proxy) Close() { p.closeOnce.Do(func() { close(p.closed) }) }

// hold blocks until the client goes away or the proxy is closed.
func (p *Proxy) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.closed:
	}
}

type faultKey struct{}

// SetFault switches the injected fault; Fault{Mode: Normal} turns it off.
func (p *Proxy) SetFault(f Fault) {
	if f.Mode == "" {
		f.Mode = Normal
	}
	p.mu.Lock()
	p.fault, p.faulted = f, 0
	p.mu.Unlock()
}

// SetQuota sets the pull limit and the pulls remaining. With enforce, a
// manifest GET when none remain gets 429 TOOMANYREQUESTS.
func (p *Proxy) SetQuota(limit, remaining int, enforce bool) {
	p.mu.Lock()
	p.limit, p.remaining, p.enforce = limit, remaining, enforce
	p.mu.Unlock()
}

// Reset zeroes the counters and refills the quota; the fault is kept.
func (p *Proxy) Reset() {
	for _, c := range []*atomic.Int64{&p.requests, &p.manifestGets, &p.manifestHeads,
		&p.blobGets, &p.blobHeads, &p.blobBytes, &p.pulls, &p.faults, &p.tokens, &p.challenges} {
		c.Store(0)
	}
	p.mu.Lock()
	p.remaining = p.limit
	p.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Requests:      p.requests.Load(),
		ManifestGets:  p.manifestGets.Load(),
		ManifestHeads: p.manifestHeads.Load(),
		BlobGets:      p.blobGets.Load(),
		BlobHeads:     p.blobHeads.Load(),
		BlobBytes:     p.blobBytes.Load(),
		Pulls:         p.pulls.Load(),
		Tokens:        p.tokens.Load(),
		Challenges:    p.challenges.Load(),
		Faults:        p.faults.Load(),
		Limit:         p.limit,
		Remaining:     p.remaining,
		Enforce:       p.enforce,
		Fault:         p.fault,
	}
}

var (
	manifestPath = regexp.MustCompile(`^/v2/.+/manifests/[^/]+$`)
	blobPath     = regexp.MustCompile(`^/v2/.+/blobs/[a-z0-9]+:[a-zA-Z0-9=_-]+$`)
)

type kind int

const (
	other kind = iota
	manifest
	blob
)

func classify(r *http.Request) kind {
	switch {
	case manifestPath.MatchString(r.URL.Path):
		return manifest
	case blobPath.MatchString(r.URL.Path):
		return blob
	}
	return other
}

// ServeHTTP serves the control endpoints under /_hubproxy/ and forwards
// everything else to the upstream.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_hubproxy/") {
		p.control(w, r)
		return
	}
	if p.bearer.Load() && !p.authorized(w, r) {
		return
	}
	p.requests.Add(1)
	k := classify(r)
	switch {
	case k == manifest && r.Method == http.MethodGet:
		p.manifestGets.Add(1)
	case k == manifest && r.Method == http.MethodHead:
		p.manifestHeads.Add(1)
	case k == blob && r.Method == http.MethodGet:
		p.blobGets.Add(1)
	case k == blob && r.Method == http.MethodHead:
		p.blobHeads.Add(1)
	}

	f, on := p.take(r, k)
	if on {
		p.faults.Add(1)
		switch f.Mode {
		case TooManyRequests:
			if f.Bare {
				if f.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
				}
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			p.tooMany(w, f.RetryAfter)
			return
		case ServerError:
			status := f.Status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected %d"}]}`+"\n", status)
			return
		case Cut:
			p.rp.ServeHTTP(&cutWriter{ResponseWriter: w, left: f.CutAfter, bytes: &p.blobBytes}, r)
			return
		case Stall:
			p.rp.ServeHTTP(&cutWriter{ResponseWriter: w, left: f.CutAfter, bytes: &p.blobBytes, hold: func() { p.hold(r) }}, r)
			return
		case Hang:
			p.hold(r)
			panic(http.ErrAbortHandler)
		case Tamper, WrongDigest, Corrupt:
			// modifyResponse changes the upstream's answer.
			r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
		}
	}
	if k == manifest && r.Method == http.MethodGet && p.exhausted() {
		p.faults.Add(1)
		p.tooMany(w, 0)
		return
	}
	if k == blob && r.Method == http.MethodGet {
		w = &countWriter{ResponseWriter: w, bytes: &p.blobBytes}
	}
	p.rp.ServeHTTP(w, r)
}

// take reports whether the current fault applies to r, and spends one of
// its Times if so.
func (p *Proxy) take(r *http.Request, k kind) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fault
	on := func(def kind) bool {
		switch f.On {
		case OnManifests:
			return k == manifest
		case OnBlobs:
			return k == blob
		}
		return k == def
	}
	var applies bool
	switch f.Mode {
	case TooManyRequests:
		applies = k == manifest && r.Method == http.MethodGet
	case ServerError:
		applies = strings.HasPrefix(r.URL.Path, "/v2/")
	case Cut, Stall:
		applies = on(blob) && r.Method == http.MethodGet
	case Hang:
		applies = on(manifest)
	case Tamper:
		applies = k == manifest && r.Method == http.MethodGet
	case WrongDigest:
		applies = k == manifest && r.Method == http.MethodHead
	case Corrupt:
		applies = k == blob && r.Method == http.MethodGet
	}
	if f.Method != "" && r.Method != f.Method {
		applies = false
	}
	if !applies {
		return f, false
	}
	p.faulted++
	if f.Times > 0 && p.faulted >= f.Times {
		p.fault, p.faulted = Fault{Mode: Normal}, 0
	}
	return f, true
}

func (p *Proxy) exhausted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.enforce && p.limit > 0 && p.remaining <= 0
}

func (p *Proxy) tooMany(w http.ResponseWriter, retryAfter int) {
	p.mu.Lock()
	p.setLimitHeaders(w.Header())
	p.mu.Unlock()
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintln(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}`)
}

// setLimitHeaders must be called with p.mu held.
func (p *Proxy) setLimitHeaders(h http.Header) {
	if p.limit <= 0 {
		return
	}
	h.Set("Ratelimit-Limit", fmt.Sprintf("%d;w=%d", p.limit, Window))
	h.Set("Ratelimit-Remaining", fmt.Sprintf("%d;w=%d", max(p.remaining, 0), Window))
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	if f, ok := resp.Request.Context().Value(faultKey{}).(Fault); ok && resp.StatusCode == http.StatusOK {
		if err := alter(resp, f); err != nil {
			return err
		}
	}
	if classify(resp.Request) != manifest {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if resp.Request.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
		p.pulls.Add(1)
		if p.remaining > 0 {
			p.remaining--
		}
	}
	p.setLimitHeaders(resp.Header)
	return nil
}

// alter applies Tamper, WrongDigest and Corrupt to an upstream answer.
func alter(resp *http.Response, f Fault) error {
	switch f.Mode {
	case Tamper:
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		// Still valid JSON, but not the bytes the digest names.
		b = append(bytes.TrimRight(b, "\n"), []byte(" \n")...)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	case WrongDigest:
		sum := sha256.Sum256([]byte("wrong " + resp.Header.Get("Docker-Content-Digest")))
		resp.Header.Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
	case Corrupt:
		resp.Body = &flipFirst{ReadCloser: resp.Body}
	}
	return nil
}

// flipFirst inverts the first byte read.
type flipFirst struct {
	io.ReadCloser
	done bool
}

func (f *flipFirst) Read(b []byte) (int, error) {
	n, err := f.ReadCloser.Read(b)
	if n > 0 && !f.done {
		b[0] ^= 0xff
		f.done = true
	}
	return n, err
}

type countWriter struct {
	http.ResponseWriter
	bytes *atomic.Int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.bytes.Add(int64(n))
	return n, err
}

func (c *countWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// cutWriter passes left bytes, then drops the connection, or with hold
// waits for it first: a stalled body.
type cutWriter struct {
	http.ResponseWriter
	left  int64
	bytes *atomic.Int64
	hold  func()
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) <= c.left {
		n, err := c.ResponseWriter.Write(b)
		c.left -= int64(n)
		c.bytes.Add(int64(n))
		return n, err
	}
	n, _ := c.ResponseWriter.Write(b[:c.left])
	c.bytes.Add(int64(n))
	_ = http.NewResponseController(c.ResponseWriter).Flush()
	if c.hold != nil {
		c.hold()
	}
	// ErrAbortHandler makes the server drop the connection without logging,
	// so the client sees a body shorter than its Content-Length.
	panic(http.ErrAbortHandler)
}

func (c *cutWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (p *Proxy) control(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/_hubproxy/")
	if op != "stats" && r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	switch op {
	case "stats":
	case "reset":
		p.Reset()
	case "fault":
		f := Fault{Mode: Mode(q.Get("mode"))}
		switch f.Mode {
		case "", Normal, TooManyRequests, ServerError, Cut, Hang, Stall, Tamper, WrongDigest, Corrupt:
		default:
			http.Error(w, fmt.Sprintf("unknown mode %q (normal, 429, 5xx, cut, hang, stall, tamper, wrong-digest, corrupt)", f.Mode), http.StatusBadRequest)
			return
		}
		switch f.On = q.Get("on"); f.On {
		case "", OnManifests, OnBlobs:
		default:
			http.Error(w, fmt.Sprintf("unknown on %q (manifest, blob)", f.On), http.StatusBadRequest)
			return
		}
		f.Method = strings.ToUpper(q.Get("method"))
		var err error
		for _, v := range []struct {
			key string
			dst *int
		}{{"retry_after", &f.RetryAfter}, {"status", &f.Status}, {"times", &f.Times}} {
			if s := q.Get(v.key); s != "" && err == nil {
				*v.dst, err = strconv.Atoi(s)
			}
		}
		if s := q.Get("cut_after"); s != "" && err == nil {
			f.CutAfter, err = strconv.ParseInt(s, 10, 64)
		}
		if s := q.Get("bare"); s != "" && err == nil {
			f.Bare, err = strconv.ParseBool(s)
		}
		if err != nil {
			http.Error(w, "parsing fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		p.SetFault(f)
	case "quota":
		s := p.Stats()
		limit, remaining, enforce := s.Limit, s.Remaining, s.Enforce
		var err error
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err == nil && q.Get("remaining") == "" {
				remaining = limit
			}
		}
		if v := q.Get("remaining"); v != "" && err == nil {
			remaining, err = strconv.Atoi(v)
		}
		if v := q.Get("enforce"); v != "" && err == nil {
			enforce, err = strconv.ParseBool(v)
		}
		if err != nil {
			http.Error(w, "parsing quota: "+err.Error(), http.StatusBadRequest)
			return
		}
		p.SetQuota(limit, remaining, enforce)
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p.Stats())
}
