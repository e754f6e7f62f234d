package wan

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLink(t *testing.T) {
	t.Parallel()
	l := &Link{RTT: 30 * time.Millisecond, BytesPerSec: 1 << 20}
	body := strings.Repeat("x", 256<<10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &httptest.Server{Listener: l.Listener(ln), Config: &http.Server{Handler: l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))}}
	s.Start()
	defer s.Close()

	start := time.Now()
	for _, path := range []string{"/v2/a/manifests/1", "/v2/a/blobs/sha256:0"} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) != len(body) {
			t.Fatalf("GET %s: %d bytes, want %d", path, len(b), len(body))
		}
	}
	// One new connection and two requests: three round trips; 512 KiB at
	// 1 MiB/s: half a second.
	if d, want := time.Since(start), 3*l.RTT+500*time.Millisecond; d < want {
		t.Errorf("two requests over the link took %s, want at least %s", d, want)
	}
	if l.Requests.Load() != 2 || l.ManifestGets.Load() != 1 || l.BlobGets.Load() != 1 || l.Conns.Load() != 1 || l.Bytes.Load() != int64(2*len(body)) {
		t.Errorf("counters: %d requests, %d manifest GETs, %d blob GETs, %d connections, %d bytes",
			l.Requests.Load(), l.ManifestGets.Load(), l.BlobGets.Load(), l.Conns.Load(), l.Bytes.Load())
	}
}
