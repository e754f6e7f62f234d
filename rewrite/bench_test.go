package rewrite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// multiStage is a realistic 200-line multi-stage Dockerfile: meta ARGs,
// platform flags, continuations, COPY --from images and stages, mounts.
func multiStage() []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1.7\nARG GO_VERSION=1.22\nARG ALPINE=3.19\nARG NODE=20\n")
	for i := 0; b.Len() == 0 || strings.Count(b.String(), "\n") < 196; i++ {
		fmt.Fprintf(&b, "\n# stage %d\n", i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine${ALPINE} AS build%d\n", i)
			b.WriteString("WORKDIR /src\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod \\\n    go mod download\n")
			b.WriteString("COPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build \\\n    CGO_ENABLED=0 go build -o /out/app ./cmd/app\n")
		case 1:
			fmt.Fprintf(&b, "FROM node:${NODE}-alpine AS web%d\n", i)
			b.WriteString("WORKDIR /web\nCOPY package.json package-lock.json ./\nRUN npm ci \\\n    --no-audit \\\n    --no-fund\nCOPY . .\nRUN npm run build\n")
		case 2:
			fmt.Fprintf(&b, "FROM python:3.12-slim AS tools%d\n", i)
			b.WriteString("RUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl ca-certificates && \\\n    rm -rf /var/lib/apt/lists/*\n")
			b.WriteString("COPY --from=docker/buildx-bin:0.12 /buildx /usr/libexec/docker/cli-plugins/docker-buildx\n")
		case 3:
			fmt.Fprintf(&b, "FROM gcr.io/distroless/static-debian12:nonroot AS final%d\n", i)
			fmt.Fprintf(&b, "COPY --from=build%d /out/app /app\nCOPY --from=web%d /web/dist /static\n", i-3, i-2)
			b.WriteString("RUN --mount=type=bind,from=busybox:1.36,target=/bb /bb/bin/true\nUSER nonroot\nENTRYPOINT [\"/app\"]\n")
		}
	}
	return []byte(b.String())
}

// BenchmarkFile rewrites a 200-line multi-stage Dockerfile; compare it
// with BenchmarkParseOnly (target: at most 2x).
func BenchmarkFile(b *testing.B) {
	data := multiStage()
	opts := Options{Region: "us-east-1"}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := File("Dockerfile", data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseOnly is the floor: BuildKit's parser alone on the same file.
func BenchmarkParseOnly(b *testing.B) {
	data := multiStage()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parser.Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMultiStageFixture(t *testing.T) {
	data := multiStage()
	if n := bytes.Count(data, []byte("\n")); n < 195 || n > 215 {
		t.Fatalf("fixture has %d lines, want about 200", n)
	}
	res, err := File("Dockerfile", data, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.Refs) < 40 {
		t.Fatalf("fixture rewrite: changed=%v refs=%d", res.Changed, len(res.Refs))
	}
}

// largeInputs are valid Dockerfiles of about mib MiB (just under MaxSize
// at 16): "dense" is one short instruction per line, a stage every 40
// lines; "stages" is dense with references (a FROM, a COPY --from and a
// continuation every four lines); "script" has a few stages with long RUN
// scripts, as generated files do.
func largeInputs(mib int) map[string][]byte {
	size := min(mib<<20, MaxSize-256)
	var dense, stages, script bytes.Buffer
	for i := 0; dense.Len() < size; i++ {
		s := i / 40
		switch i % 40 {
		case 0:
			fmt.Fprintf(&dense, "FROM alpine:3.%d AS s%d\n", s%20, s)
		case 1:
			dense.WriteString("ARG V\n")
		case 7:
			if s > 0 {
				fmt.Fprintf(&dense, "COPY --from=s%d /a /b\n", s-1)
			} else {
				dense.WriteString("COPY a b\n")
			}
		case 13:
			dense.WriteString("RUN --mount=type=cache,target=/c true\n")
		case 19:
			dense.WriteString("COPY --from=busybox:1.36 /bin/sh /sh\n")
		default:
			dense.WriteString([...]string{"RUN true\n", "ENV A=1\n", "COPY a b\n", "WORKDIR /w\n", "LABEL a=b\n", "USER u\n", "EXPOSE 80\n"}[i%7])
		}
	}
	for i := 0; stages.Len() < size; i++ {
		fmt.Fprintf(&stages, "FROM python:3.%d AS s%d\nRUN pip install flask==%d.0 \\\n    && echo done\n", i%13, i, i)
		if i > 0 {
			fmt.Fprintf(&stages, "COPY --from=s%d /a /b\n", i-1)
		}
	}
	for i := 0; script.Len() < size; i++ {
		if i%2000 == 0 {
			fmt.Fprintf(&script, "FROM golang:1.%d AS b%d\nRUN set -e; \\\n", 20+i%5, i)
		}
		fmt.Fprintf(&script, "    echo step %d of the generated build script >> /log; \\\n", i)
		if i%2000 == 1999 {
			script.WriteString("    true\n")
		}
	}
	script.WriteString("    true\n")
	return map[string][]byte{"dense": dense.Bytes(), "stages": stages.Bytes(), "script": script.Bytes()}
}

// BenchmarkLargeFile reads and rewrites valid Dockerfiles of a few MiB and
// reports memory per input byte: alloc is everything allocated, peak the
// most held at once, and CPU seconds. BenchmarkLargeParse is BuildKit's
// own parsers on the whole file, which hold a node per line and a command
// per instruction: File parses a window at a time and keeps less.
func BenchmarkLargeFile(b *testing.B) {
	benchLarge(b, func(b *testing.B, path string) {
		in, err := ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := File("Dockerfile", in, Options{Region: "us-east-1"}); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkLargeParse(b *testing.B) {
	benchLarge(b, func(b *testing.B, path string) {
		in, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := parser.Parse(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := instructions.Parse(res.AST, nil); err != nil {
			b.Fatal(err)
		}
	})
}

func benchLarge(b *testing.B, run func(b *testing.B, path string)) {
	for _, mib := range []int{1, 4, 16} {
		inputs := largeInputs(mib)
		for _, shape := range []string{"dense", "stages", "script"} {
			data := inputs[shape]
			path := filepath.Join(b.TempDir(), "Dockerfile")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%dMiB/%s", mib, shape), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var peak uint64
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				cpu0 := cpuTime()
				for b.Loop() {
					peak = max(peak, peakHeap(func() { run(b, path) }))
				}
				// CPU time, unlike ns/op, does not grow with the load
				// of a shared machine.
				b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
				runtime.ReadMemStats(&ms1)
				b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/float64(len(data)), "alloc-B/input-B")
				b.ReportMetric(float64(peak)/float64(len(data)), "peak-B/input-B")
			})
		}
	}
}

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
