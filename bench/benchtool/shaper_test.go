package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves: read a line, answer with n bytes of 'x' (n is the line's length
// times 1024), until the client closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					buf := make([]byte, (len(line)-1)*1024)
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestShaper(t *testing.T) {
	const rtt = 50 * time.Millisecond
	sh, err := NewShaper("127.0.0.1:0", echoServer(t), rtt, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	c, err := net.Dial("tcp", sh.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ask := func(n int) time.Duration {
		t0 := time.Now()
		if _, err := c.Write(append(make([]byte, n), '\n')); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, n*1024)); err != nil {
			t.Fatal(err)
		}
		return time.Since(t0)
	}
	// First exchange, timed from connect(), which returns at once here: the
	// handshake plus request and answer, two round trips.
	if d := ask(1); d < 2*rtt || d > 10*rtt {
		t.Errorf("first exchange took %v, want about %v", d, 2*rtt)
	}
	// On the open connection: one round trip.
	if d := ask(1); d < rtt || d > 10*rtt {
		t.Errorf("second exchange took %v, want about %v", d, rtt)
	}
	// With a cap, 1 MiB at 4 MiB/s takes at least a quarter second more.
	sh.Set(rtt, 4<<20)
	if d := ask(1024); d < rtt+250*time.Millisecond {
		t.Errorf("1 MiB at 4 MiB/s took %v, want at least %v", d, rtt+250*time.Millisecond)
	}
	c.Close()
	if sh.Conns.Load() != 1 || sh.BytesDown.Load() != 1024+1024+1<<20 {
		t.Errorf("conns %d, bytes %d", sh.Conns.Load(), sh.BytesDown.Load())
	}
}
