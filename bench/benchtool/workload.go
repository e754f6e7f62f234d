package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const mib = 1 << 20

// Workload W1: images that look like what a team pulls from Docker Hub. Everything is
// derived from one seed, so two runs with the same seed push byte-identical blobs and
// manifests, and every digest is reproducible.

// imageNames are repository:tag pairs in Docker Hub's namespace. Official images live
// under library/, as Docker Hub stores them.
var imageNames = []string{
	"library/python:3.12-slim", "library/node:22-bookworm", "library/golang:1.26", "library/redis:7.4",
	"library/nginx:1.27", "library/postgres:17", "library/alpine:3.21", "library/debian:bookworm",
	"library/ubuntu:24.04", "library/busybox:1.37", "library/httpd:2.4", "library/memcached:1.6",
	"library/python:3.12", "library/node:22-slim", "bitnami/redis:7.4", "grafana/grafana:11.4.0",
	"prom/prometheus:v3.1.0", "hashicorp/vault:1.18", "minio/minio:RELEASE.2025-01-20", "curlimages/curl:8.11.1",
}

var allPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "ppc64le"},
	{OS: "linux", Architecture: "s390x"},
}

// layerSpec names a layer's content: label seeds its bytes, size is its payload.
type layerSpec struct {
	Label string
	Size  int
}

type platformSpec struct {
	Platform v1.Platform
	Layers   []layerSpec
}

// ImageSpec is one W1 image: a tag in the upstream registry.
type ImageSpec struct {
	Repo      string         `json:"repo"` // e.g. library/python
	Tag       string         `json:"tag"`
	OCI       bool           `json:"oci"`
	Platforms []platformSpec `json:"-"`
	MultiArch bool           `json:"multi_arch"`
	Bytes     int64          `json:"bytes"`  // total payload of its layers, all platforms
	Digest    string         `json:"digest"` // set after push
}

// Ref is repo:tag.
func (s ImageSpec) Ref() string { return s.Repo + ":" + s.Tag }

// PlatformNames lists os/arch[/variant].
func (s ImageSpec) PlatformNames() []string {
	var out []string
	for _, p := range s.Platforms {
		out = append(out, p.Platform.String())
	}
	return out
}

// Workload is the list of images plus which one the "tag moved" scenario moves.
type Workload struct {
	Seed   uint64      `json:"seed"`
	Images []ImageSpec `json:"images"`
	Moved  int         `json:"moved"` // index into Images
	// MovedSet, when set, lists every image the "tag moved" scenario moves
	// (W2 moves 5% of its tags); otherwise it moves Moved alone.
	MovedSet []int `json:"moved_set,omitempty"`
}

// MovedImages lists the images the "tag moved" scenario moves.
func (w Workload) MovedImages() []int {
	if len(w.MovedSet) > 0 {
		return w.MovedSet
	}
	return []int{w.Moved}
}

// NewCatalogue plans workload W2, a platform team's catalogue: repos
// repositories of tags tags each (cat/r000:1, ...), made like W1 but small:
// every platform is a base layer of 32 KiB drawn from a pool of 4 and a
// layer of its own of layer bytes; every fourth repository is multi-arch
// (amd64 and arm64), every third image OCI. The moved scenario moves 5% of
// the tags, spread over the repositories.
func NewCatalogue(seed uint64, repos, tags, layer int) Workload {
	w := Workload{Seed: seed}
	for r := range repos {
		for t := range tags {
			i := len(w.Images)
			s := ImageSpec{Repo: fmt.Sprintf("cat/r%03d", r), Tag: fmt.Sprint(t + 1), OCI: i%3 == 2, MultiArch: r%4 == 3}
			plats := allPlatforms[:1]
			if s.MultiArch {
				plats = allPlatforms[:2]
			}
			for pi, p := range plats {
				ps := platformSpec{Platform: p, Layers: []layerSpec{
					{Label: fmt.Sprintf("base/cat/%s/%d", p.String(), (r+t)%4), Size: 32 << 10},
					{Label: fmt.Sprintf("cat/%d/%d", i, pi), Size: layer},
				}}
				for _, l := range ps.Layers {
					s.Bytes += int64(l.Size)
				}
				s.Platforms = append(s.Platforms, ps)
			}
			w.Images = append(w.Images, s)
		}
	}
	for i := 0; i < len(w.Images); i += 20 {
		w.MovedSet = append(w.MovedSet, i+(i/20)%3)
	}
	return w
}

func seededRand(seed uint64, label string) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(label))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return rand.New(rand.NewChaCha8(key))
}

// baseLabel is a layer shared by every image of one platform that picks base i.
func baseLabel(p v1.Platform, i int) string {
	return fmt.Sprintf("base/%s/%d", p.String(), i)
}

func baseSize(seed uint64, p v1.Platform, i int) int {
	r := seededRand(seed, baseLabel(p, i)+"/size")
	return mib + r.IntN(3*mib) // 1–4 MiB
}

// NewWorkload plans n images (n <= 20) from seed. Half are multi-arch with 3 or 4
// platforms; each image totals 5–50 MiB across its platforms; platforms draw a base
// layer from a small shared pool, so images share layers.
func NewWorkload(seed uint64, n int) Workload {
	if n < 1 || n > len(imageNames) {
		n = len(imageNames)
	}
	r := seededRand(seed, "plan")
	multi := make([]bool, len(imageNames))
	perm := r.Perm(len(imageNames) - 1)
	for _, i := range perm[:len(imageNames)/2-1] {
		multi[i+1] = true
	}
	multi[0] = true // image 0 is the one the "tag moved" scenario moves; keep it multi-arch
	w := Workload{Seed: seed, Moved: 0}
	for i := 0; i < n; i++ {
		repo, tag, _ := strings.Cut(imageNames[i], ":")
		s := ImageSpec{Repo: repo, Tag: tag, OCI: r.IntN(3) == 0, MultiArch: multi[i]}
		total := 5*mib + r.IntN(45*mib+1)
		plats := []v1.Platform{allPlatforms[0]}
		if multi[i] {
			k := 3 + r.IntN(2)
			plats = append(plats, allPlatforms[1:k]...)
		}
		per := total / len(plats)
		for pi, p := range plats {
			ps := platformSpec{Platform: p}
			left := per
			if r.IntN(4) != 0 { // most images sit on a shared base layer
				b := r.IntN(3)
				if bs := baseSize(seed, p, b); bs+mib/4 <= left {
					ps.Layers = append(ps.Layers, layerSpec{Label: baseLabel(p, b), Size: bs})
					left -= bs
				}
			}
			own := 1 + r.IntN(3)
			if left < own*mib/2 {
				own = 1
			}
			weights, sum := make([]int, own), 0
			for l := range weights {
				weights[l] = 1 + r.IntN(4)
				sum += weights[l]
			}
			rest := left
			for l := 0; l < own; l++ {
				sz := left * weights[l] / sum
				if l == own-1 {
					sz = rest
				}
				ps.Layers = append(ps.Layers, layerSpec{Label: fmt.Sprintf("img/%d/%d/%d", i, pi, l), Size: sz})
				rest -= sz
			}
			for _, l := range ps.Layers {
				s.Bytes += int64(l.Size)
			}
			s.Platforms = append(s.Platforms, ps)
		}
		w.Images = append(w.Images, s)
	}
	return w
}

// Variant returns image i with the top layer of every platform replaced by content
// of the same size seeded by variant v: a new upstream release under the same tag.
// Variant 0 is the image itself.
func (w Workload) Variant(i, v int) ImageSpec {
	s := w.Images[i]
	if v == 0 {
		return s
	}
	out := s
	out.Platforms = nil
	for pi, p := range s.Platforms {
		np := platformSpec{Platform: p.Platform, Layers: append([]layerSpec(nil), p.Layers...)}
		top := len(np.Layers) - 1
		np.Layers[top].Label = fmt.Sprintf("moved/%d/%d/%d", i, pi, v)
		out.Platforms = append(out.Platforms, np)
	}
	return out
}

// builtLayer is a gzip tarball holding one file of incompressible seeded bytes.
type builtLayer struct {
	blob   []byte
	digest v1.Hash
	diffID v1.Hash
}

func buildLayer(seed uint64, l layerSpec) builtLayer {
	r := seededRand(seed, l.Label)
	payload := make([]byte, l.Size)
	for i := 0; i+8 <= len(payload); i += 8 {
		binary.LittleEndian.PutUint64(payload[i:], r.Uint64())
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	mtime := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := "opt/" + strings.ReplaceAll(l.Label, "/", "-")
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + "/data.bin", Mode: 0o644, Size: int64(len(payload)), ModTime: mtime})
	_, _ = tw.Write(payload)
	_ = tw.Close()
	diffID := sha256.Sum256(raw.Bytes())
	// Random bytes do not compress; the stored-block gzip keeps generation fast and
	// the blob a valid gzip layer of the same size a real compressor would produce.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	dg := sha256.Sum256(gz.Bytes())
	return builtLayer{
		blob:   gz.Bytes(),
		digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", dg)},
		diffID: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diffID)},
	}
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

func descriptorOf(b []byte, mt types.MediaType) v1.Descriptor {
	h, n, _ := v1.SHA256(bytes.NewReader(b))
	return v1.Descriptor{MediaType: mt, Size: n, Digest: h}
}

// Push writes the image (every blob, each platform manifest, then the tag) to
// registry (host:port, plain HTTP) and returns the tag's digest.
func (w Workload) Push(ctx context.Context, registry string, s ImageSpec, cache map[string]builtLayer) (string, error) {
	repo, err := name.NewRepository(registry+"/"+s.Repo, name.Insecure)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithContext(ctx)}
	layerMT, configMT, manifestMT, indexMT := types.DockerLayer, types.DockerConfigJSON, types.DockerManifestSchema2, types.DockerManifestList
	if s.OCI {
		layerMT, configMT, manifestMT, indexMT = types.OCILayer, types.OCIConfigJSON, types.OCIManifestSchema1, types.OCIImageIndex
	}
	created := v1.Time{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	var children []v1.Descriptor
	for _, p := range s.Platforms {
		cfg := v1.ConfigFile{
			Architecture: p.Platform.Architecture, OS: p.Platform.OS, Variant: p.Platform.Variant,
			Created: created,
			Config:  v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}},
			RootFS:  v1.RootFS{Type: "layers"},
		}
		m := v1.Manifest{SchemaVersion: 2, MediaType: manifestMT}
		for _, l := range p.Layers {
			bl, ok := cache[l.Label]
			if !ok {
				bl = buildLayer(w.Seed, l)
				if strings.HasPrefix(l.Label, "base/") {
					cache[l.Label] = bl
				}
			}
			if err := remote.WriteLayer(repo, static.NewLayer(bl.blob, layerMT), opts...); err != nil {
				return "", fmt.Errorf("pushing layer %s to %s: %w", l.Label, repo, err)
			}
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, bl.diffID)
			cfg.History = append(cfg.History, v1.History{Created: created, CreatedBy: "/bin/sh -c #(nop) ADD " + l.Label})
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: layerMT, Size: int64(len(bl.blob)), Digest: bl.digest})
		}
		cb, _ := json.Marshal(cfg)
		if err := remote.WriteLayer(repo, static.NewLayer(cb, configMT), opts...); err != nil {
			return "", fmt.Errorf("pushing config to %s: %w", repo, err)
		}
		m.Config = descriptorOf(cb, configMT)
		mb, _ := json.Marshal(m)
		d := descriptorOf(mb, manifestMT)
		if !s.MultiArch {
			if err := remote.Put(repo.Tag(s.Tag), rawManifest{mb, manifestMT}, opts...); err != nil {
				return "", fmt.Errorf("pushing %s: %w", s.Ref(), err)
			}
			return d.Digest.String(), nil
		}
		if err := remote.Put(repo.Digest(d.Digest.String()), rawManifest{mb, manifestMT}, opts...); err != nil {
			return "", fmt.Errorf("pushing %s@%s: %w", s.Repo, d.Digest, err)
		}
		plat := p.Platform
		d.Platform = &plat
		children = append(children, d)
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: indexMT, Manifests: children}
	ib, _ := json.Marshal(idx)
	if err := remote.Put(repo.Tag(s.Tag), rawManifest{ib, indexMT}, opts...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", s.Ref(), err)
	}
	return descriptorOf(ib, indexMT).Digest.String(), nil
}

// PushAll pushes every image and records its digest.
func (w *Workload) PushAll(ctx context.Context, registry string) error {
	cache := map[string]builtLayer{}
	for i := range w.Images {
		d, err := w.Push(ctx, registry, w.Images[i], cache)
		if err != nil {
			return err
		}
		w.Images[i].Digest = d
	}
	return nil
}

// UniqueBytes is the payload of all distinct layers, shared bases counted once.
func (w Workload) UniqueBytes() int64 {
	seen := map[string]bool{}
	var n int64
	for _, s := range w.Images {
		for _, p := range s.Platforms {
			for _, l := range p.Layers {
				if !seen[l.Label] {
					seen[l.Label] = true
					n += int64(l.Size)
				}
			}
		}
	}
	return n
}
