// Package examples holds the example applications and the CloudFormation
// template the README points at. Its tests keep them from going stale: each
// example's expected rewrite is checked against the engine, and the template's
// IAM role is checked against the AWS calls the ecr package makes.
package examples

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecrbase/rewrite"
)

var update = flag.Bool("update", false, "rewrite each example's rewritten.txt from the engine's output")

// goldenName is the expected output of rewriting an example's Dockerfile. It
// is deliberately not named like a Dockerfile (Dockerfile.*, *.Dockerfile),
// which `ecrbase rewrite DIR` would pick up and convert.
const goldenName = "rewritten.txt"

// exampleRegion is the region the goldens are generated with; it becomes the
// default of the inserted ARG AWS_REGION.
const exampleRegion = "us-east-1"

// exampleDirs returns the example applications: the directories here that
// hold a Dockerfile.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join("*", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) == 0 {
		t.Fatal("no examples/*/Dockerfile found")
	}
	var dirs []string
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

// alreadyConverted are examples that already pull from ECR and must come out
// byte for byte unchanged.
var alreadyConverted = map[string]bool{"already-converted": true}

func TestExamplesGolden(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			opts := rewrite.Options{Region: exampleRegion}
			res, err := rewrite.File(filepath.Join(dir, "Dockerfile"), in, opts)
			if err != nil {
				t.Fatalf("rewrite.File: %v", err)
			}
			for _, w := range res.Warnings {
				t.Logf("warning: %v", w)
			}

			golden := filepath.Join(dir, goldenName)
			if *update {
				if err := os.WriteFile(golden, res.Output, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./examples -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(res.Output)); diff != "" {
				t.Errorf("rewrite of %s/Dockerfile differs from %s (-want +got):\n%s", dir, goldenName, diff)
			}

			if alreadyConverted[dir] {
				if res.Changed || !bytes.Equal(res.Output, in) {
					t.Errorf("%s already pulls from ECR but the rewrite changed it", dir)
				}
			} else if !res.Changed {
				t.Errorf("%s: the rewrite changed nothing; an example that needs no conversion shows nothing", dir)
			}

			// The rewritten example is itself a converted Dockerfile.
			again, err := rewrite.File(golden, res.Output, opts)
			if err != nil {
				t.Fatalf("rewriting the output again: %v", err)
			}
			if again.Changed {
				t.Errorf("rewriting %s again changed it (-first +second):\n%s", golden, cmp.Diff(string(res.Output), string(again.Output)))
			}
		})
	}
}
