package rewrite

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

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
