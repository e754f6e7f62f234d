package ecr

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"ecrbase/internal/apibridge"
	"ecrbase/internal/wan"
)

// The WAN benchmarks run the catalogue workload (W2) against loopback
// servers shaped like the internet: "Docker Hub" 40 ms away with its token
// dance, "ECR" and its API 10 ms away.
//
//	go test ./ecr -run '^$' -bench WAN -benchtime 3x
const (
	wanUpstreamRTT = 40 * time.Millisecond
	wanECRRTT      = 10 * time.Millisecond
	wanRepos       = 100
	wanTagsPerRepo = 3
)

// serveShaped serves h on loopback behind link (per-request and
// per-connection round trips) and returns its URL.
func serveShaped(tb testing.TB, link *wan.Link, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &httptest.Server{Listener: link.Listener(ln), Config: &http.Server{Handler: link.Handler(h)}}
	s.Start()
	tb.Cleanup(s.Close)
	return s.URL
}

// bearerHub asks for a bearer token per repository as Docker Hub does: a
// request without one gets 401 and a challenge naming /token, which hands
// out a token for any scope.
func bearerHub(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"token": "t-" + r.URL.Query().Get("scope"), "expires_in": 300})
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer t-") {
			scope := ""
			if p := strings.TrimPrefix(r.URL.Path, "/v2/"); p != "" {
				if i := strings.Index(p, "/manifests/"); i > 0 {
					scope = fmt.Sprintf(`,scope="repository:%s:pull"`, p[:i])
				} else if i := strings.Index(p, "/blobs/"); i > 0 {
					scope = fmt.Sprintf(`,scope="repository:%s:pull"`, p[:i])
				}
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="hub"%s`, r.Host, scope))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type wanStack struct {
	up, ecr, api *wan.Link
	upHost       string // unshaped, for seeding
	ecrHost      string // unshaped, for seeding and checks
	hubURL       string // shaped "Docker Hub"
	ecrURL       string // shaped "ECR"
	opts         []Option
	images       []Image
}

func newWANStack(b *testing.B, bandwidth int64) *wanStack {
	b.Helper()
	st := &wanStack{
		up:  &wan.Link{RTT: wanUpstreamRTT, BytesPerSec: bandwidth},
		ecr: &wan.Link{RTT: wanECRRTT},
		api: &wan.Link{RTT: wanECRRTT},
	}
	upReg := registry.New(quiet())
	st.upHost = strings.TrimPrefix(httptest.NewServer(upReg).URL, "http://")
	hubURL := serveShaped(b, st.up, bearerHub(upReg))
	st.hubURL = hubURL

	ecrReg := registry.New(quiet())
	ecrPlain := httptest.NewServer(ecrReg)
	b.Cleanup(ecrPlain.Close)
	st.ecrHost = strings.TrimPrefix(ecrPlain.URL, "http://")
	ecrURL := serveShaped(b, st.ecr, ecrReg)
	st.ecrURL = ecrURL

	// The ECR API: moto, with BatchGetImage answered from the "ECR" registry.
	bridge, err := apibridge.New(motoURL(b), ecrPlain.URL)
	if err != nil {
		b.Fatal(err)
	}
	apiURL := serveShaped(b, st.api, bridge)
	cfg := motoConfig(b)
	cfg.BaseEndpoint = &apiURL

	st.opts = []Option{
		WithAWSConfig(cfg),
		WithRegistryEndpoint(ecrURL),
		WithRegistryMirror("docker.io", hubURL),
		func(o *Options) { o.getenv = env{}.get },
	}
	for r := range wanRepos {
		for t := range wanTagsPerRepo {
			st.images = append(st.images, Image{
				Source:     fmt.Sprintf("docker.io/cat/r%03d:%d", r, t),
				Repository: fmt.Sprintf("docker-hub/cat/r%03d", r),
			})
		}
	}
	return st
}

// seed writes image i upstream and, when warm, the same bytes into ECR.
func (st *wanStack) seed(b *testing.B, i int, warm bool) { st.seedSize(b, i, warm, 1024) }

func (st *wanStack) seedSize(b *testing.B, i int, warm bool, size int64) {
	img, err := random.Image(size, 1)
	if err != nil {
		b.Fatal(err)
	}
	st.seedWith(b, i, warm, img)
}

// seedWith writes x as image i upstream and, when warm, into ECR.
func (st *wanStack) seedWith(b *testing.B, i int, warm bool, x remote.Taggable) {
	src := strings.TrimPrefix(st.images[i].Source, "docker.io/")
	_, tag, _ := strings.Cut(src, ":")
	for _, ref := range []string{st.upHost + "/" + src, st.ecrHost + "/" + st.images[i].Repository + ":" + tag} {
		r, err := name.ParseReference(ref)
		if err != nil {
			b.Fatal(err)
		}
		switch x := x.(type) {
		case v1.ImageIndex:
			err = remote.WriteIndex(r, x)
		case v1.Image:
			err = remote.Write(r, x)
		}
		if err != nil {
			b.Fatal(err)
		}
		if !warm {
			break
		}
	}
}

func (st *wanStack) reset() {
	for _, l := range []*wan.Link{st.up, st.ecr, st.api} {
		l.Reset()
	}
}

func (st *wanStack) report(b *testing.B, runs int) {
	n := float64(len(st.images) * runs)
	b.ReportMetric(float64(st.up.Requests.Load())/n, "hub-req/img")
	b.ReportMetric(float64(st.up.ManifestHeads.Load())/n, "hub-HEAD/img")
	b.ReportMetric(float64(st.up.ManifestGets.Load())/n, "hub-GET/img")
	b.ReportMetric(float64(st.up.Tokens.Load())/n, "hub-token/img")
	b.ReportMetric(float64(st.up.Conns.Load())/float64(runs), "hub-conns/op")
	b.ReportMetric(float64(st.ecr.Requests.Load())/n, "ecr-req/img")
	b.ReportMetric(float64(st.api.Requests.Load())/n, "api-req/img")
}

func (st *wanStack) mirror(b *testing.B, opts ...Option) {
	rep, err := Mirror(context.Background(), st.images, append(st.opts, opts...)...)
	if err != nil {
		b.Fatalf("Mirror: %v", err)
	}
	if rep.Failed != 0 {
		b.Fatalf("Mirror: %d failed", rep.Failed)
	}
}

// BenchmarkWANCatalogueWarm: 300 images already in ECR.
func BenchmarkWANCatalogueWarm(b *testing.B) {
	st := newWANStack(b, 0)
	for i := range st.images {
		st.seed(b, i, true)
	}
	runs := 0
	st.reset()
	for b.Loop() {
		st.mirror(b)
		runs++
	}
	st.report(b, runs)
}

// BenchmarkWANCatalogueMoved: 5% of the tags moved upstream since the last run.
func BenchmarkWANCatalogueMoved(b *testing.B) {
	st := newWANStack(b, 0)
	for i := range st.images {
		st.seed(b, i, true)
	}
	moved := len(st.images) / 20
	runs := 0
	st.reset()
	for b.Loop() {
		b.StopTimer()
		for j := range moved {
			st.seed(b, (runs*moved+j*7)%len(st.images), false)
		}
		b.StartTimer()
		st.mirror(b)
		runs++
	}
	st.report(b, runs)
}

// BenchmarkWANCatalogueCold: an empty ECR, 300 images of 64 KiB each, read
// through a 8 MiB/s link, to compare with bytes ÷ bandwidth.
func BenchmarkWANCatalogueCold(b *testing.B) {
	const bandwidth = 8 << 20
	var (
		runs  int
		bytes int64
		ideal time.Duration
	)
	for b.Loop() {
		b.StopTimer()
		st := newWANStack(b, bandwidth)
		for i := range st.images {
			st.seedSize(b, i, false, 64<<10)
		}
		st.reset()
		b.StartTimer()
		st.mirror(b)
		b.StopTimer()
		runs++
		bytes += st.up.Bytes.Load()
		ideal += time.Duration(float64(st.up.Bytes.Load()) / bandwidth * float64(time.Second))
		st.report(b, 1)
		b.StartTimer()
	}
	b.ReportMetric(float64(bytes)/float64(runs)/(1<<20), "hub-MiB/op")
	b.ReportMetric(ideal.Seconds()/float64(runs), "bytes/bw-s/op")
}
