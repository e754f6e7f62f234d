package main

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Shaper is a TCP proxy that makes a loopback server look distant: data in
// each direction arrives half a round-trip time after it was sent, a new
// connection costs one more round trip before its first byte (the TCP
// handshake), and what the server sends can share a bandwidth cap. It works
// below TLS, so every client, whatever its HTTP stack, pays the same round
// trips for its own handshakes, requests and connection reuse.
type Shaper struct {
	ln     net.Listener
	target string

	rtt  atomic.Int64 // nanoseconds
	rate atomic.Int64 // bytes per second from the server, shared by every connection; 0 is no cap

	mu   sync.Mutex
	next time.Time // when the shared downstream link is free again

	Conns     atomic.Int64 // connections accepted
	BytesDown atomic.Int64 // bytes sent from the server to clients

	wg     sync.WaitGroup
	closed atomic.Bool
	conns  sync.Map // net.Conn -> struct{}, closed with the shaper
}

// NewShaper listens on listen and forwards every connection to target.
func NewShaper(listen, target string, rtt time.Duration, bytesPerSec int64) (*Shaper, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	s := &Shaper{ln: ln, target: target}
	s.Set(rtt, bytesPerSec)
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the address clients connect to.
func (s *Shaper) Addr() string { return s.ln.Addr().String() }

// Set changes the round-trip time and the cap for new data.
func (s *Shaper) Set(rtt time.Duration, bytesPerSec int64) {
	s.rtt.Store(int64(rtt))
	s.rate.Store(bytesPerSec)
}

// Settings returns the round-trip time and the cap.
func (s *Shaper) Settings() (time.Duration, int64) {
	return time.Duration(s.rtt.Load()), s.rate.Load()
}

// Reset zeroes the counters.
func (s *Shaper) Reset() { s.Conns.Store(0); s.BytesDown.Store(0) }

// Close stops listening and ends every connection.
func (s *Shaper) Close() {
	s.closed.Store(true)
	s.ln.Close()
	s.conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	s.wg.Wait()
}

func (s *Shaper) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.Conns.Add(1)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.handle(c) }()
	}
}

func (s *Shaper) handle(client net.Conn) {
	// The handshake: the client may send once the SYN and SYN-ACK have
	// crossed (one round trip); its first byte reaches the server half a
	// round trip after that.
	hello := time.Now().Add(time.Duration(s.rtt.Load()) * 3 / 2)
	server, err := net.Dial("tcp", s.target)
	if err != nil {
		client.Close()
		return
	}
	s.conns.Store(client, struct{}{})
	s.conns.Store(server, struct{}{})
	defer func() {
		client.Close()
		server.Close()
		s.conns.Delete(client)
		s.conns.Delete(server)
	}()
	done := make(chan struct{}, 2)
	go func() { s.pipe(server, client, hello, false); done <- struct{}{} }()
	go func() { s.pipe(client, server, time.Time{}, true); done <- struct{}{} }()
	<-done
	<-done
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk delivered half a round trip after it
// was read (and not before notBefore); down marks the server-to-client
// direction, which the cap applies to.
func (s *Shaper) pipe(dst, src net.Conn, notBefore time.Time, down bool) {
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				due := time.Now().Add(time.Duration(s.rtt.Load()) / 2)
				if due.Before(notBefore) {
					due = notBefore
				}
				q <- chunk{append([]byte(nil), buf[:n]...), due}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range q {
		if failed {
			continue // drain, so the reader ends
		}
		until := c.due
		if rate := s.rate.Load(); down && rate > 0 {
			until = s.reserve(c.due, len(c.b), rate)
		}
		time.Sleep(time.Until(until))
		if down {
			s.BytesDown.Add(int64(len(c.b)))
		}
		if _, err := dst.Write(c.b); err != nil {
			failed = true
			src.Close()
			continue
		}
	}
	// Pass the end of the stream on, keeping the other direction open.
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// reserve books n bytes on the shared downstream link, starting no earlier
// than from, and returns when the last of them has arrived.
func (s *Shaper) reserve(from time.Time, n int, rate int64) time.Time {
	d := time.Duration(float64(n) / float64(rate) * float64(time.Second))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next.Before(from) {
		s.next = from
	}
	s.next = s.next.Add(d)
	return s.next
}
