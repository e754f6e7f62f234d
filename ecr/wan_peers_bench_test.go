package ecr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BenchmarkWANPeers runs workloads through the same shaped links with
// ecrbase and with the peers' own catalogue modes: `regsync once`
// (regclient's sync tool, one repository entry per repository, parallel 32)
// and `skopeo sync --all --preserve-digests --src yaml` (one process per
// namespace). Each sub-benchmark reports its wall time and requests per
// image; ecrbase runs in-process, the peers as processes. Tools that are not on PATH (or in
// $REGSYNC) are skipped.
//
//	go test ./ecr -run '^$' -bench WANPeers -benchtime 1x
//
// w2 is the catalogue: 300 images of one small layer in 100 repositories;
// cold runs read through an 8 MiB/s cap. w1 is 20 images, 10 of them with 3
// platforms, on 3 shared 4 MiB base layers plus a 1 MiB layer each (52 MiB
// in all); in moved, one multi-platform image gets new content.
func BenchmarkWANPeers(b *testing.B) {
	for _, wl := range []string{"w2", "w1"} {
		for _, scenario := range []string{"warm", "moved", "cold"} {
			for _, tool := range []string{"ecrbase", "regsync", "skopeo-sync"} {
				b.Run(wl+"/"+scenario+"/"+tool, func(b *testing.B) { wanPeer(b, wl, scenario, tool) })
			}
		}
	}
}

func wanPeer(b *testing.B, wl, scenario, tool string) {
	bin := ""
	switch tool {
	case "regsync":
		bin = os.Getenv("REGSYNC")
		if bin == "" {
			bin, _ = exec.LookPath("regsync")
		}
	case "skopeo-sync":
		bin, _ = exec.LookPath("skopeo")
	}
	if tool != "ecrbase" && bin == "" {
		b.Skipf("%s is not installed", tool)
	}
	var (
		bandwidth int64
		size      int64 = 1024
	)
	if scenario == "cold" && wl == "w2" {
		bandwidth, size = 8<<20, 64<<10
	}
	runs := 0
	var last *wanStack
	var bytes int64
	for b.Loop() {
		b.StopTimer()
		st := newWANStack(b, bandwidth)
		if wl == "w1" {
			st.seedW1(b, scenario)
		} else {
			for i := range st.images {
				st.seedSize(b, i, scenario != "cold", size)
			}
			if scenario == "moved" {
				for j := range len(st.images) / 20 {
					st.seedSize(b, j*20, false, size)
				}
			}
		}
		st.reset()
		b.StartTimer()
		switch tool {
		case "ecrbase":
			st.mirror(b)
		case "regsync":
			st.regsync(b, bin)
		case "skopeo-sync":
			st.skopeoSync(b, bin)
		}
		b.StopTimer()
		st.verify(b)
		bytes += st.up.Bytes.Load()
		last = st
		runs++
		b.StartTimer()
	}
	last.report(b, 1)
	b.ReportMetric(float64(bytes)/float64(runs)/(1<<20), "hub-MiB/op")
	if bandwidth > 0 {
		b.ReportMetric(float64(bytes)/float64(runs)/float64(bandwidth), "bytes/bw-s/op")
	}
}

// seedW1 replaces the stack's images with W1 and seeds it: upstream, and
// in ECR too unless cold; moved gives one multi-platform image new content
// upstream.
func (st *wanStack) seedW1(b *testing.B, scenario string) {
	st.images = nil
	for i := range 20 {
		st.images = append(st.images, Image{Source: fmt.Sprintf("docker.io/w1/app%02d:1", i), Repository: fmt.Sprintf("docker-hub/w1/app%02d", i)})
	}
	var bases []v1.Layer
	for range 3 {
		l, err := random.Layer(4<<20, types.DockerLayer)
		if err != nil {
			b.Fatal(err)
		}
		bases = append(bases, l)
	}
	image := func(i int) v1.Image {
		own, err := random.Layer(1<<20, types.DockerLayer)
		if err != nil {
			b.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, bases[i%3], own)
		if err != nil {
			b.Fatal(err)
		}
		return img
	}
	build := func(i int) remote.Taggable {
		if i%2 == 1 {
			return image(i)
		}
		// A Docker manifest list of Docker manifests: one media-type family,
		// which every tool can copy digest-exact.
		idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
		for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
			pl, _ := v1.ParsePlatform(p)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: image(i), Descriptor: v1.Descriptor{Platform: pl}})
		}
		return idx
	}
	for i := range st.images {
		st.seedWith(b, i, scenario != "cold", build(i))
	}
	if scenario == "moved" {
		st.seedWith(b, 0, false, build(0))
	}
}

func (st *wanStack) hubAddr() string { return strings.TrimPrefix(st.hubURL, "http://") }
func (st *wanStack) ecrAddr() string { return strings.TrimPrefix(st.ecrURL, "http://") }

func (st *wanStack) run(b *testing.B, name string, args ...string) {
	home := b.TempDir()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(name), err, tailString(string(out), 3000))
	}
}

func (st *wanStack) regsync(b *testing.B, bin string) {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "version: 1\ncreds:\n  - registry: %s\n    tls: disabled\n  - registry: %s\n    tls: disabled\n", st.hubAddr(), st.ecrAddr())
	fmt.Fprintf(&cfg, "defaults:\n  parallel: 32\nsync:\n")
	for _, repo := range st.repos() {
		fmt.Fprintf(&cfg, "  - source: %s/%s\n    target: %s/docker-hub/%s\n    type: repository\n", st.hubAddr(), repo.path, st.ecrAddr(), repo.path)
	}
	file := filepath.Join(b.TempDir(), "regsync.yml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	st.run(b, bin, "once", "-c", file, "-v", "error")
}

func (st *wanStack) skopeoSync(b *testing.B, bin string) {
	// skopeo sync names a destination by the last path element of its
	// source, so it runs once per namespace.
	byNS := map[string][]repoTags{}
	var order []string
	for _, repo := range st.repos() {
		ns, _, _ := strings.Cut(repo.path, "/")
		if byNS[ns] == nil {
			order = append(order, ns)
		}
		byNS[ns] = append(byNS[ns], repo)
	}
	for _, ns := range order {
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "%s:\n  tls-verify: false\n  images:\n", st.hubAddr())
		for _, repo := range byNS[ns] {
			fmt.Fprintf(&cfg, "    %s: [", repo.path)
			for i, t := range repo.tags {
				if i > 0 {
					cfg.WriteString(", ")
				}
				fmt.Fprintf(&cfg, "%q", t)
			}
			cfg.WriteString("]\n")
		}
		file := filepath.Join(b.TempDir(), "skopeo.yml")
		if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		// --all: every platform of an index, as ecrbase and regsync copy;
		// --preserve-digests: the index as it is, digest-exact.
		st.run(b, bin, "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false", file, st.ecrAddr()+"/docker-hub/"+ns)
	}
}

type repoTags struct {
	path string // upstream path, cat/r000
	tags []string
}

// repos groups the stack's images by upstream repository, in order.
func (st *wanStack) repos() []repoTags {
	var out []repoTags
	idx := map[string]int{}
	for _, img := range st.images {
		path, tag, _ := strings.Cut(strings.TrimPrefix(img.Source, "docker.io/"), ":")
		i, ok := idx[path]
		if !ok {
			i = len(out)
			idx[path] = i
			out = append(out, repoTags{path: path})
		}
		out[i].tags = append(out[i].tags, tag)
	}
	return out
}

// verify checks that every ECR tag has the upstream digest.
func (st *wanStack) verify(b *testing.B) {
	for _, img := range st.images {
		src := strings.TrimPrefix(img.Source, "docker.io/")
		_, tag, _ := strings.Cut(src, ":")
		if up, got := head(b, st.upHost, src), head(b, st.ecrHost, img.Repository+":"+tag); got != up {
			b.Fatalf("ECR %s:%s = %q, want upstream %q", img.Repository, tag, got, up)
		}
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
