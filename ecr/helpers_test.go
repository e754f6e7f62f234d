package ecr

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
	"ecrbase/internal/testenv"
)

const (
	motoAccount = "123456789012"
	motoToken   = "123456789012-auth-token"
)

// moto is one moto_server for the whole test binary.
var moto struct {
	once sync.Once
	p    *testenv.Process
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	moto.p.Stop() // only the moto_server this test binary started
	os.Exit(code)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// motoURL starts one moto_server for the whole test binary. Call it (and
// testOptions, motoConfig) from the test's goroutine: without moto it skips
// or fails the test.
func motoURL(t testing.TB) string {
	t.Helper()
	moto.once.Do(func() { moto.p, moto.err = testenv.StartMoto() })
	if errors.Is(moto.err, testenv.ErrNotInstalled) {
		testenv.Missing(t, "%v; the ECR API tests need it", moto.err)
	}
	if moto.err != nil {
		t.Fatal(moto.err)
	}
	return moto.p.URL
}

func motoConfig(t testing.TB) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(motoURL(t)),
	}
}

func quiet() registry.Option { return registry.Logger(log.New(io.Discard, "", 0)) }

// newRegistry starts an in-process registry and returns its host:port.
func newRegistry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(quiet()))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// hub is a Docker-Hub-like source: a registry behind a hubproxy.
type hub struct {
	upstream string // host:port, for pushing test images
	proxy    *hubproxy.Proxy
	url      string // base URL of the proxy
}

func newHub(t testing.TB) *hub {
	t.Helper()
	up := newRegistry(t)
	p, err := hubproxy.New("http://"+up, hubproxy.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	t.Cleanup(p.Close) // runs first: hung requests end, so s.Close does not wait
	return &hub{upstream: up, proxy: p, url: s.URL}
}

// push writes an image or index to the hub as library/<repoTag> and
// returns its digest.
func (h *hub) push(t testing.TB, repoTag string, x remote.Taggable) string {
	t.Helper()
	return pushTo(t, h.upstream, "library/"+repoTag, x)
}

func randomImage(t testing.TB, size int64, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// multiArch builds an index of one random image per platform, plus an
// attestation manifest as BuildKit adds them.
func multiArch(t testing.TB, mt types.MediaType, platforms ...string) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, mt)
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: randomImage(t, 2048, 2), Descriptor: v1.Descriptor{Platform: pl}})
	}
	if mt == types.OCIImageIndex {
		adds = append(adds, mutate.IndexAddendum{Add: randomImage(t, 256, 1), Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}})
	}
	return mutate.AppendManifests(idx, adds...)
}

// env is a fake environment for Options.getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// testOptions points Mirror at moto, an ECR stand-in registry and a hub,
// with fast retries and an empty environment.
func testOptions(t testing.TB, target string, h *hub, e env) []Option {
	opts := []Option{
		WithAWSConfig(motoConfig(t)),
		WithRegistryEndpoint("http://" + target),
		func(o *Options) {
			o.backoff = remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3}
			o.waitStep = 20 * time.Millisecond
			o.noWaitLimit = 3 * time.Second
			o.scanPoll = 10 * time.Millisecond
			o.scanStart = 0
			if e == nil {
				e = env{}
			}
			o.getenv = e.get
		},
	}
	if h != nil {
		opts = append(opts, WithRegistryMirror("docker.io", h.url))
	}
	// No test reaches the default content sources (the internet); tests
	// that want one name it.
	return append(opts, WithContentSources(map[string][]string{}))
}

// head returns the digest target has for repo:ref, or "" when absent.
func head(t testing.TB, target, repoRef string) string {
	t.Helper()
	ref, err := name.ParseReference(target + "/" + repoRef)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref)
	if notFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

// rawManifestOf GETs the manifest bytes of ref.
func rawManifestOf(t testing.TB, ref string, opts ...remote.Option) []byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d.Manifest
}

// mustMirror runs Mirror and fails the test on any error.
func mustMirror(t testing.TB, images []Image, opts ...Option) *Report {
	t.Helper()
	rep, err := Mirror(context.Background(), images, opts...)
	if err != nil {
		t.Fatalf("Mirror(%v) error: %v", images, err)
	}
	return rep
}

// lines collects progress output safely from several goroutines.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// uniqueRepo keeps tests apart in the one moto and in shared registries.
func uniqueRepo(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, t.Name())
	for strings.Contains(name, "--") {
		name = strings.ReplaceAll(name, "--", "-")
	}
	return "docker-hub/library/" + strings.Trim(name, "-")
}

func appendLayer(t testing.TB, base v1.Image, l v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// blobJobs sets how many blobs of one image are copied in parallel.
func blobJobs(n int) Option { return func(o *Options) { o.BlobJobs = n } }
