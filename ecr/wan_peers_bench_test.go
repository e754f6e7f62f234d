package ecr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkWANPeers runs the catalogue (W2) through the same shaped links
// with ecrbase and with the peers' own catalogue modes: `regsync once`
// (regclient's sync tool, one repository entry per repository, parallel 32)
// and `skopeo sync --src yaml`. Each sub-benchmark reports its wall time
// and requests per image; ecrbase runs in-process, the peers as processes.
// Tools that are not on PATH (or in $REGSYNC) are skipped.
//
//	go test ./ecr -run '^$' -bench WANPeers -benchtime 1x
func BenchmarkWANPeers(b *testing.B) {
	for _, scenario := range []string{"warm", "moved", "cold"} {
		for _, tool := range []string{"ecrbase", "regsync", "skopeo-sync"} {
			b.Run(scenario+"/"+tool, func(b *testing.B) { wanPeer(b, scenario, tool) })
		}
	}
}

func wanPeer(b *testing.B, scenario, tool string) {
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
	if scenario == "cold" {
		bandwidth, size = 8<<20, 64<<10
	}
	runs := 0
	var last *wanStack
	var bytes int64
	for b.Loop() {
		b.StopTimer()
		st := newWANStack(b, bandwidth)
		for i := range st.images {
			st.seedSize(b, i, scenario != "cold", size)
		}
		if scenario == "moved" {
			for j := range len(st.images) / 20 {
				st.seedSize(b, j*20, false, size)
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
	for r := range wanRepos {
		fmt.Fprintf(&cfg, "  - source: %s/cat/r%03d\n    target: %s/docker-hub/cat/r%03d\n    type: repository\n", st.hubAddr(), r, st.ecrAddr(), r)
	}
	file := filepath.Join(b.TempDir(), "regsync.yml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	st.run(b, bin, "once", "-c", file, "-v", "error")
}

func (st *wanStack) skopeoSync(b *testing.B, bin string) {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "%s:\n  tls-verify: false\n  images:\n", st.hubAddr())
	for r := range wanRepos {
		fmt.Fprintf(&cfg, "    cat/r%03d: [", r)
		for t := range wanTagsPerRepo {
			if t > 0 {
				cfg.WriteString(", ")
			}
			fmt.Fprintf(&cfg, "%q", fmt.Sprint(t))
		}
		cfg.WriteString("]\n")
	}
	file := filepath.Join(b.TempDir(), "skopeo.yml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	st.run(b, bin, "sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false", file, st.ecrAddr()+"/docker-hub/cat")
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
