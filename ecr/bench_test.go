package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
	"ecrbase/internal/testenv"
)

const largeLayer = 512 << 20

// genLayer is a layer of pseudo-random bytes generated on the fly, so that
// even the test never holds it in memory.
type genLayer struct {
	size   int64
	digest v1.Hash
}

func genReader(size int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{'e', 'c', 'r', 'b', 'a', 's', 'e'}), size)
}

func newGenLayer(size int64) (*genLayer, error) {
	h := sha256.New()
	if _, err := io.Copy(h, genReader(size)); err != nil {
		return nil, err
	}
	return &genLayer{size: size, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

func (g *genLayer) Digest() (v1.Hash, error)            { return g.digest, nil }
func (g *genLayer) Size() (int64, error)                { return g.size, nil }
func (g *genLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (g *genLayer) Compressed() (io.ReadCloser, error)  { return io.NopCloser(genReader(g.size)), nil }

// pushLarge writes an image of one generated layer to repo and returns its
// digest.
func pushLarge(tb testing.TB, repo name.Repository, g *genLayer) string {
	tb.Helper()
	l, err := partial.CompressedToLayer(g)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteLayer(repo, l); err != nil {
		tb.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{g.digest.String()}}})
	cl := static.NewLayer(cfg, types.OCIConfigJSON)
	if err := remote.WriteLayer(repo, cl); err != nil {
		tb.Fatal(err)
	}
	cd, _ := cl.Digest()
	m, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfg)), Digest: cd},
		Layers: []v1.Descriptor{{MediaType: types.OCIUncompressedLayer, Size: g.size, Digest: g.digest}}})
	if err := remote.Put(repo.Tag("1"), rawManifest{b: m, mt: types.OCIManifestSchema1}); err != nil {
		tb.Fatal(err)
	}
	d, _, _ := v1.SHA256(strings.NewReader(string(m)))
	return d.String()
}

// diskRegistry keeps blobs on disk, so the registries do not blur what the
// measurement is about.
func diskRegistry(tb testing.TB) string {
	s := httptest.NewServer(registry.New(quiet(), registry.WithBlobHandler(registry.NewDiskBlobHandler(tb.TempDir()))))
	tb.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// childJob is what BenchmarkMirrorLargeLayer hands to TestMirrorChild.
type childJob struct {
	Moto, Target, Hub, Source, Repository, Want string
}

// BenchmarkMirrorLargeLayer mirrors an image with a 512 MiB layer through a
// hub proxy into a stand-in ECR registry. The copy runs in a child process
// whose peak RSS (getrusage maxrss) is reported as peak-RSS-MiB:
//
//	go test ./ecr -run '^$' -bench MirrorLargeLayer -benchtime 1x
func BenchmarkMirrorLargeLayer(b *testing.B) {
	moto := motoURL(b)
	up := diskRegistry(b)
	p, err := hubproxy.New("http://"+up, hubproxy.DefaultLimit)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(p)
	b.Cleanup(hs.Close)
	g, err := newGenLayer(largeLayer)
	if err != nil {
		b.Fatal(err)
	}
	repo, _ := name.NewRepository(up + "/library/large")
	want := pushLarge(b, repo, g)

	b.SetBytes(largeLayer)
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		target := diskRegistry(b) // a fresh target: blobs are shared across repositories
		job, _ := json.Marshal(childJob{Moto: moto, Target: target, Hub: hs.URL, Source: "docker.io/library/large:1",
			Repository: fmt.Sprintf("docker-hub/library/large-%d", i), Want: want})
		cmd := exec.Command(os.Args[0], "-test.run=^TestMirrorChild$", "-test.v")
		cmd.Env = append(os.Environ(), "ECRBASE_MIRROR_CHILD="+string(job))
		b.StartTimer()
		out, err := cmd.CombinedOutput()
		b.StopTimer()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestMirrorChild") {
			b.Fatalf("child mirror: %v\n%s", err, out)
		}
		// getrusage's maxrss is no good here: exec keeps the high-water mark
		// of the forking parent, which holds the stand-in registries. The
		// child reports the VmHWM of its own address space instead.
		_, after, ok := strings.Cut(string(out), "VmHWM:")
		var kib int64
		if _, err := fmt.Sscanf(strings.TrimSpace(after), "%d kB", &kib); !ok || err != nil {
			b.Fatalf("child did not report VmHWM: %v\n%s", err, out)
		}
		peak = max(peak, kib)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
	if s := p.Stats(); s.BlobBytes < int64(b.N)*largeLayer {
		b.Errorf("hub served %d blob bytes, want at least %d", s.BlobBytes, int64(b.N)*largeLayer)
	}
}

// TestMirrorChild is the child process of BenchmarkMirrorLargeLayer: it
// mirrors one image and checks the digest. Run alone, it has nothing to do.
func TestMirrorChild(t *testing.T) {
	spec := os.Getenv("ECRBASE_MIRROR_CHILD")
	if spec == "" {
		t.Skip("child process of BenchmarkMirrorLargeLayer")
	}
	var job childJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		t.Fatal(err)
	}
	moto.once.Do(func() { moto.p = &testenv.Process{URL: job.Moto} }) // the parent's
	h := &hub{url: job.Hub}
	rep, err := Mirror(context.Background(), []Image{{Source: job.Source, Repository: job.Repository}}, testOptions(t, job.Target, h, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Images[0]; got.Digest != job.Want || got.Bytes < largeLayer {
		t.Fatalf("mirrored %s (%d bytes), want %s with the whole layer", got.Digest, got.Bytes, job.Want)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			fmt.Println(l) // peak resident set size, read by the benchmark
		}
	}
}
