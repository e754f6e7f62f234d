package ecr

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registryOn serves an in-process registry on addr (host:0) over plain
// HTTP and returns its host:port.
func registryOn(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(registry.New(quiet()))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// TestMirrorPlainHTTPSource: an image named on a plain-HTTP registry is read
// over HTTP when that registry is on loopback: any 127.x address, not only
// the 127.0.0.1 that go-containerregistry picks HTTP for by itself.
func TestMirrorPlainHTTPSource(t *testing.T) {
	t.Parallel()
	target := newRegistry(t)
	src := registryOn(t, "127.0.0.2:0")
	img := randomImage(t, 1024, 1)
	ref, err := name.ParseReference(src+"/library/plain:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	want := d.String()
	rep := mustMirror(t, []Image{{Source: src + "/library/plain:1", Repository: uniqueRepo(t)}}, testOptions(t, target, nil, nil)...)
	if got := rep.Images[0]; got.Digest != want {
		t.Errorf("digest = %s %q, want %s", got.Digest, got.Error, want)
	}
}
