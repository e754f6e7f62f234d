package main

import (
	"os"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"ecrbase/rewrite"
)

// TestOwnDockerfile checks ecrbase's own Dockerfile with BuildKit's parser
// and the rewrite engine's image finder: every image it pulls comes from
// ECR Public (never Docker Hub, including a # syntax= frontend), it is
// multi-stage, the binary is static, and the final stage is an empty base
// running as a user other than root.
func TestOwnDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	res, err := rewrite.File("Dockerfile", data, rewrite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pulls := 0
	for _, r := range res.Refs {
		if r.Reference == "" {
			continue
		}
		named, err := reference.ParseNormalizedNamed(r.Reference)
		if err != nil {
			t.Fatalf("Dockerfile:%d: %v", r.Line, err)
		}
		pulls++
		if reference.Domain(named) != "public.ecr.aws" {
			t.Errorf("Dockerfile:%d pulls %s from %s, want ECR Public", r.Line, r.Reference, reference.Domain(named))
		}
	}
	if pulls == 0 {
		t.Error("Dockerfile pulls no image: the check above checked nothing")
	}

	ast, err := parser.Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]*parser.Node
	for _, n := range ast.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], n)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a final one", len(stages))
	}
	final := stages[len(stages)-1]
	if base := final[0].Next.Value; base != "scratch" {
		t.Errorf("final stage FROM %s, want scratch", base)
	}
	user, entry := "", ""
	for _, n := range final {
		switch strings.ToLower(n.Value) {
		case "user":
			user = n.Next.Value
		case "entrypoint":
			entry = n.Original
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage runs as %q, want a user other than root", user)
	}
	if !strings.Contains(entry, "ecrbase") {
		t.Errorf("final stage ENTRYPOINT %q does not run ecrbase", entry)
	}
	if !strings.Contains(string(data), "CGO_ENABLED=0 go build") {
		t.Error("the binary is not built with CGO_ENABLED=0: it would need a libc the empty base lacks")
	}
	if !strings.Contains(string(data), "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("the final stage has no CA certificates: TLS to ECR would fail")
	}
}
