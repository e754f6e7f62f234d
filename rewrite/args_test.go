package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

const ecrHead = "${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/"

// TestManyArgFroms rewrites the ARG-heavy shapes of BenchmarkManyArgFroms
// at 5,000 and checks every line of the output.
func TestManyArgFroms(t *testing.T) {
	const n = 5000
	inputs := argShapes(n)
	for _, tc := range []struct {
		shape string
		want  func() string
	}{
		{"pairs", func() string {
			// Each ARG default becomes the ECR image; the FROMs stay.
			var b strings.Builder
			b.WriteString("ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\n")
			for i := range n {
				fmt.Fprintf(&b, "ARG I%d=%simg%d:1\n", i, ecrHead, i)
			}
			for i := range n {
				fmt.Fprintf(&b, "FROM ${I%d} AS s%d\n", i, i)
			}
			return b.String()
		}},
		{"shared", func() string {
			// REG is used in the last stage: each FROM is rewritten in
			// place, and REG keeps its value.
			var b strings.Builder
			b.WriteString("ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\nARG REG=docker.io\nARG TAG=1\n")
			for i := range n {
				fmt.Fprintf(&b, "FROM %simg%d:${TAG} AS s%d\n", ecrHead, i, i)
			}
			b.WriteString("FROM scratch\nARG REG\n")
			return b.String()
		}},
		{"chain", func() string {
			// The last link is used in a stage, so no link is edited.
			var b strings.Builder
			b.WriteString("ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\nARG A0=img\n")
			for i := range n {
				fmt.Fprintf(&b, "ARG A%d=${A%d}\n", i+1, i)
			}
			for i := range n {
				fmt.Fprintf(&b, "FROM %simg:%d AS s%d\n", ecrHead, i, i)
			}
			fmt.Fprintf(&b, "FROM scratch\nARG A%d\n", n)
			return b.String()
		}},
	} {
		t.Run(tc.shape, func(t *testing.T) {
			res, err := File("Dockerfile", inputs[tc.shape], Options{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			got, want := strings.Split(string(res.Output), "\n"), strings.Split(tc.want(), "\n")
			if len(got) != len(want) {
				t.Fatalf("%d lines, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("line %d: %q, want %q", i+1, got[i], want[i])
				}
			}
			for _, r := range res.Refs {
				if r.Kind == KindFrom && r.Text != "scratch" && r.Status != StatusRewrite {
					t.Fatalf("line %d: %s %s: %s", r.Line, r.Text, r.Status, r.Note)
				}
			}
		})
	}
}
