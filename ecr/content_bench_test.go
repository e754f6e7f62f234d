package ecr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BenchmarkMirrorColdContentSource copies a W1-shaped workload cold (20
// images, 10 of them indexes of 3 or 4 platforms: 55 manifests) from a hub
// behind the counting proxy, once reading everything from the hub and once
// with a content source that holds every image by digest. It reports the
// counted pulls the hub saw per run (hub-pulls/op) and the content source's
// manifest GETs:
//
//	go test ./ecr -run '^$' -bench MirrorColdContentSource -benchtime 5x
func BenchmarkMirrorColdContentSource(b *testing.B) {
	h := newHub(b)
	csUp, cs, csURL := newContentSource(b)
	var images []string
	for i := range 20 {
		tag := fmt.Sprintf("w1-%02d:1", i)
		switch {
		case i%2 == 0 && i%4 == 0:
			h.push(b, tag, multiArch(b, types.DockerManifestList, "linux/amd64", "linux/arm64/v8", "linux/s390x", "linux/ppc64le"))
		case i%2 == 0:
			h.push(b, tag, multiArch(b, types.DockerManifestList, "linux/amd64", "linux/arm64/v8", "linux/s390x"))
		default:
			h.push(b, tag, randomImage(b, 64<<10, 3))
		}
		copyImage(b, h.upstream+"/library/"+tag, csUp+"/library/"+tag)
		images = append(images, tag)
	}
	for _, variant := range []string{"hub", "content-source"} {
		b.Run(variant, func(b *testing.B) {
			var pulls, csGets int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				target := newRegistry(b)
				var imgs []Image
				for _, tag := range images {
					repo, _, _ := strings.Cut(tag, ":")
					imgs = append(imgs, Image{Source: "docker.io/library/" + tag, Repository: "docker-hub/library/" + repo})
				}
				opts := testOptions(b, target, h, nil)
				if variant == "content-source" {
					opts = append(opts, WithContentSource("docker.io", csURL))
				}
				h.proxy.Reset()
				cs.Reset()
				b.StartTimer()
				rep := mustMirror(b, imgs, opts...)
				b.StopTimer()
				if rep.Failed != 0 {
					b.Fatalf("%d images failed", rep.Failed)
				}
				pulls += h.proxy.Stats().Pulls
				csGets += cs.Stats().ManifestGets
				b.StartTimer()
			}
			b.ReportMetric(float64(pulls)/float64(b.N), "hub-pulls/op")
			b.ReportMetric(float64(csGets)/float64(b.N), "content-source-GETs/op")
		})
	}
}
