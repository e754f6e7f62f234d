package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// A generated tree of Dockerfiles in the shapes teams write: parser directives,
// meta ARGs (chained, with and without defaults), multi-stage builds, platform
// flags, COPY --from and RUN --mount from= on images and stages, long RUN lines
// with continuations and comments inside them, heredocs, ONBUILD, files already
// pointing at ECR, CRLF files and backtick escapes. Noise files and skipped
// directories make the directory walk do real work too.

var baseImages = []string{
	"python:3.12-slim", "python:3.11", "node:22-bookworm-slim", "node:20-alpine", "golang:1.26-alpine",
	"golang:1.25", "alpine:3.21", "debian:bookworm-slim", "ubuntu:24.04", "nginx:1.27-alpine",
	"eclipse-temurin:21-jre", "maven:3.9-eclipse-temurin-21", "ruby:3.3-slim", "php:8.3-fpm",
	"rust:1.84-slim", "busybox:1.37", "redis:7.4-alpine", "postgres:17-alpine",
	"bitnami/kubectl:1.32", "hashicorp/terraform:1.10", "grafana/grafana:11.4.0",
	"quay.io/prometheus/node-exporter:v1.8.2", "quay.io/minio/mc:RELEASE.2025-01-17T23-25-50Z",
	"ghcr.io/astral-sh/uv:0.5.21", "ghcr.io/foundry-rs/foundry:stable",
	"gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/python3-debian12",
	"public.ecr.aws/docker/library/amazoncorretto:21", "public.ecr.aws/lambda/python:3.12",
	"registry.k8s.io/pause:3.10", "registry.gitlab.com/gitlab-org/release-cli:latest",
	"registry.example.com:5000/platform/base-image:2025.01", "docker.io/library/nginx:1.27",
	"index.docker.io/library/haproxy:3.1",
	"alpine:3.21@sha256:56fa17d2a7e7f168a043a2712e63aed1f8543aeafdcee47c58dcffe38ed51099",
	"debian@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a",
}

var aptPackages = []string{
	"ca-certificates", "curl", "git", "build-essential", "libpq-dev", "libssl-dev", "pkg-config",
	"unzip", "jq", "tini", "gnupg", "locales", "tzdata", "openssh-client", "make", "gcc", "g++",
	"python3-dev", "libffi-dev", "zlib1g-dev", "libxml2-dev", "libjpeg-dev", "wget", "xz-utils",
}

type dfGen struct {
	r   *rand.Rand
	b   strings.Builder
	esc string // line continuation character
	nl  string
	// onbuild files (rare in practice) carry ONBUILD triggers
	onbuild bool
}

func (g *dfGen) line(format string, a ...any) {
	fmt.Fprintf(&g.b, format, a...)
	g.b.WriteString(g.nl)
}

func (g *dfGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *dfGen) chance(pct int) bool { return g.r.IntN(100) < pct }

// continued writes a RUN whose commands are split over lines, sometimes with a
// comment line inside the continuation (BuildKit drops those).
func (g *dfGen) continued(prefix string, parts []string) {
	for i, p := range parts {
		lead := "    "
		if i == 0 {
			lead = prefix
		}
		if i < len(parts)-1 {
			g.line("%s%s %s", lead, p, g.esc)
			if g.chance(10) {
				g.line("    # %s", g.pick([]string{"keep the layer small", "pinned for reproducibility", "see docs/build.md"}))
			}
		} else {
			g.line("%s%s", lead, p)
		}
	}
}

func (g *dfGen) aptRun() {
	n := 3 + g.r.IntN(10)
	parts := []string{"apt-get update", "&& apt-get install -y --no-install-recommends"}
	for i := 0; i < n; i++ {
		parts = append(parts, "    "+g.pick(aptPackages))
	}
	parts = append(parts, "&& rm -rf /var/lib/apt/lists/*")
	g.continued("RUN ", parts)
}

func (g *dfGen) body(stages []string, meta []string, heredoc bool) {
	n := 3 + g.r.IntN(14)
	for i := 0; i < n; i++ {
		switch g.r.IntN(16) {
		case 0:
			g.aptRun()
		case 1:
			g.line("WORKDIR /%s", g.pick([]string{"app", "src", "srv/app", "workspace", "opt/service"}))
		case 2:
			g.line("ENV %s=%s", g.pick([]string{"PYTHONUNBUFFERED", "NODE_ENV", "CGO_ENABLED", "LANG", "PIP_NO_CACHE_DIR"}), g.pick([]string{"1", "production", "0", "C.UTF-8"}))
		case 3:
			g.line("COPY %s %s", g.pick([]string{".", "go.mod go.sum", "package*.json", "requirements.txt", "src/", "pyproject.toml uv.lock"}), g.pick([]string{"./", "/app/", "/src/"}))
		case 4:
			if len(stages) > 0 && g.chance(70) {
				g.line("COPY --from=%s /out/ /usr/local/bin/", g.pick(stages))
			} else if len(stages) > 0 && g.chance(30) {
				g.line("COPY --from=%d /out/app /app", g.r.IntN(len(stages)))
			} else {
				g.line("COPY --from=%s /bin/%s /usr/local/bin/", g.pick(baseImages), g.pick([]string{"tini", "uv", "mc", "kubectl"}))
			}
		case 5:
			g.line("RUN --mount=type=cache,target=/root/.cache %s", g.pick([]string{"pip install -r requirements.txt", "go build -o /out/app ./cmd/app", "npm ci", "cargo build --release"}))
		case 6:
			from := g.pick(baseImages)
			if len(stages) > 0 && g.chance(50) {
				from = g.pick(stages)
			}
			g.line("RUN --mount=type=bind,from=%s,source=/etc/ssl/certs,target=/certs cp -r /certs /etc/ssl/", from)
		case 7:
			g.continued("RUN ", []string{"set -eux", "&& go mod download", "&& CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o /out/app ./cmd/app"})
		case 8:
			g.continued("LABEL ", []string{"org.opencontainers.image.source=\"https://example.com/repo\"", "org.opencontainers.image.vendor=\"Example\"", "org.opencontainers.image.licenses=\"Apache-2.0\""})
		case 9:
			g.line("EXPOSE %d", 3000+g.r.IntN(6000))
		case 10:
			g.line("USER %s", g.pick([]string{"nobody", "1000:1000", "app", "nonroot"}))
		case 11:
			if heredoc {
				g.line("RUN <<EOF")
				g.line("set -e")
				g.line("echo building %d", g.r.IntN(1000))
				g.line("mkdir -p /out && touch /out/app")
				g.line("EOF")
			} else {
				g.line("RUN mkdir -p /out && touch /out/app")
			}
		case 12:
			g.continued("HEALTHCHECK ", []string{"--interval=30s --timeout=3s", "CMD curl -fsS http://localhost:8080/healthz || exit 1"})
		case 13:
			if len(meta) > 0 {
				g.line("ARG %s", g.pick(meta))
			}
			g.line("RUN echo \"version ${VERSION:-dev}\" > /etc/version")
		case 14:
			if g.onbuild {
				g.line("ONBUILD COPY --from=%s /etc/passwd /etc/passwd", g.pick(baseImages))
			} else {
				g.line("ARG TARGETARCH")
				g.line("RUN echo \"building for ${TARGETARCH}\"")
			}
		case 15:
			g.line("# %s", g.pick([]string{"TODO: drop root", "runtime dependencies only", "cache-friendly ordering"}))
			g.line("")
		}
	}
}

// dockerfile returns one generated file.
func dockerfile(r *rand.Rand) string {
	g := &dfGen{r: r, esc: `\`, nl: "\n"}
	g.onbuild = g.chance(3)
	if g.chance(4) {
		g.nl = "\r\n"
	}
	heredoc := false
	switch {
	case g.chance(5):
		g.line("# escape=`")
		g.esc = "`"
	case g.chance(35):
		g.line("# syntax=docker/dockerfile:1")
		heredoc = true
	case g.chance(10):
		g.line("# syntax=docker/dockerfile:1.7-labs")
		heredoc = true
	}
	if g.chance(40) {
		g.line("# Build for %s. Generated layout for benchmarks.", g.pick([]string{"the API", "the worker", "the frontend", "CI tooling"}))
		g.line("")
	}
	ecr := g.chance(12) // already rewritten: nothing to change
	var meta []string
	if ecr {
		g.line("ARG AWS_ACCOUNT_ID")
		g.line("ARG AWS_REGION=us-east-1")
	}
	if g.chance(50) {
		g.line("ARG VERSION=%d.%d.%d", g.r.IntN(4), g.r.IntN(20), g.r.IntN(10))
		meta = append(meta, "VERSION")
	}
	baseArg := ""
	if !ecr && g.chance(30) {
		img := g.pick(baseImages[:20])
		repo, tag, _ := strings.Cut(img, ":")
		g.line("ARG BASE_TAG=%s", tag)
		g.line("ARG BASE_IMAGE=%s:${BASE_TAG}", repo)
		meta = append(meta, "BASE_TAG", "BASE_IMAGE")
		baseArg = "${BASE_IMAGE}"
	}
	nstages := 1 + g.r.IntN(4)
	var stages []string
	for s := 0; s < nstages; s++ {
		var from string
		switch {
		case ecr:
			repo, tag, _ := strings.Cut(g.pick(baseImages[:16]), ":")
			from = "${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/" + repo + ":" + tag
		case s == 0 && baseArg != "":
			from = baseArg
		case s > 0 && g.chance(25):
			from = stages[len(stages)-1]
		case s == nstages-1 && g.chance(10):
			from = "scratch"
		default:
			from = g.pick(baseImages)
		}
		flags := ""
		if g.chance(25) {
			flags = "--platform=$BUILDPLATFORM "
		}
		kw := "FROM"
		if g.chance(5) {
			kw = "from"
		}
		name := ""
		if s < nstages-1 || g.chance(30) {
			name = g.pick([]string{"builder", "deps", "build", "assets", "test", "base", "compile", "runtime"}) + fmt.Sprint(s)
		}
		if name != "" {
			g.line("%s %s%s AS %s", kw, flags, from, name)
		} else {
			g.line("%s %s%s", kw, flags, from)
		}
		g.body(stages, meta, heredoc)
		if name != "" {
			stages = append(stages, name)
		}
		g.line("")
	}
	g.line("ENTRYPOINT [\"/usr/local/bin/app\"]")
	g.line("CMD [\"--help\"]")
	return g.b.String()
}

var dockerfileNames = []string{"Dockerfile", "Dockerfile", "Dockerfile", "Dockerfile.dev", "Dockerfile.prod", "build/ci.Dockerfile", "deploy/api.dockerfile", "Containerfile"}

// WriteDockerfiles writes n Dockerfiles under dir, plus files the walk must skip.
func WriteDockerfiles(dir string, n int, seed uint64) error {
	r := seededRand(seed, "dockerfiles")
	for i := 0; i < n; i++ {
		svc := fmt.Sprintf("services/team-%02d/svc-%04d", i%37, i)
		p := filepath.Join(dir, svc, dockerfileNames[r.IntN(len(dockerfileNames))])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(dockerfile(r)), 0o644); err != nil {
			return err
		}
		if i%10 == 0 {
			noise := filepath.Join(dir, svc, "main.go")
			if err := os.WriteFile(noise, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
				return err
			}
		}
	}
	// Directories the walk skips; a Dockerfile there must not be read.
	for _, skip := range []string{"node_modules/left-pad", "vendor/example.com/lib", ".git/hooks"} {
		p := filepath.Join(dir, "services/team-00", skip, "Dockerfile")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte("FROM skipped:1\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}
