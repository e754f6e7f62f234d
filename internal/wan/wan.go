// Package wan makes loopback servers behave like distant ones, for
// benchmarks: every request waits one round-trip time, every new connection
// one more (the TCP handshake), and response bodies can share a bandwidth
// cap. It also counts requests by kind.
package wan

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Link is one shaped path to a server.
type Link struct {
	RTT         time.Duration // added to each request and each new connection
	BytesPerSec int64         // cap shared by all response bodies; 0 is none

	mu   sync.Mutex
	next time.Time // when the shared link is free again

	Requests, ManifestHeads, ManifestGets, BlobGets, Tokens, API, Conns atomic.Int64
	Bytes                                                               atomic.Int64 // response body bytes
}

// Handler wraps h: one round trip per request, the bandwidth cap on the
// response body, and the counters.
func (l *Link) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.count(r)
		time.Sleep(l.RTT)
		h.ServeHTTP(&capped{ResponseWriter: w, l: l}, r)
	})
}

func (l *Link) count(r *http.Request) {
	l.Requests.Add(1)
	p := r.URL.Path
	switch {
	case strings.Contains(p, "/manifests/") && r.Method == http.MethodHead:
		l.ManifestHeads.Add(1)
	case strings.Contains(p, "/manifests/") && r.Method == http.MethodGet:
		l.ManifestGets.Add(1)
	case strings.Contains(p, "/blobs/") && r.Method == http.MethodGet:
		l.BlobGets.Add(1)
	case strings.HasPrefix(p, "/token") || r.URL.Query().Has("scope"):
		l.Tokens.Add(1)
	case r.Header.Get("X-Amz-Target") != "":
		l.API.Add(1)
	}
}

// Reset zeroes the counters.
func (l *Link) Reset() {
	for _, c := range []*atomic.Int64{&l.Requests, &l.ManifestHeads, &l.ManifestGets, &l.BlobGets, &l.Tokens, &l.API, &l.Conns, &l.Bytes} {
		c.Store(0)
	}
}

// wait reserves the time n bytes take on the shared link and sleeps until
// they have gone through.
func (l *Link) wait(n int) {
	d := time.Duration(float64(n) / float64(l.BytesPerSec) * float64(time.Second))
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(d)
	until := l.next
	l.mu.Unlock()
	time.Sleep(time.Until(until))
}

type capped struct {
	http.ResponseWriter
	l *Link
}

func (c *capped) Write(b []byte) (int, error) {
	if c.l.BytesPerSec <= 0 {
		n, err := c.ResponseWriter.Write(b)
		c.l.Bytes.Add(int64(n))
		return n, err
	}
	written := 0
	defer func() { c.l.Bytes.Add(int64(written)) }()
	for len(b) > 0 {
		n := min(len(b), 16<<10)
		c.l.wait(n)
		m, err := c.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

func (c *capped) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Listener wraps ln so that each accepted connection first waits one round
// trip, as a TCP handshake over the link would.
func (l *Link) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

type listener struct {
	net.Listener
	l *Link
}

func (ln *listener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ln.l.Conns.Add(1)
	return &slowStart{Conn: c, rtt: ln.l.RTT}, nil
}

type slowStart struct {
	net.Conn
	rtt  time.Duration
	once sync.Once
}

func (c *slowStart) Read(b []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.rtt) })
	return c.Conn.Read(b)
}
