// Package examples holds the example applications and the CloudFormation
// template the README points at. Its tests keep them from going stale: each
// example's expected rewrite is checked against the engine, and the template's
// IAM role is checked against the AWS calls the ecr package makes.
package examples

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecrbase/compose"
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
// hold a Dockerfile, at any depth.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if files, err := rewrite.Discover([]string{e.Name()}); err == nil && len(files) > 0 {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no example with a Dockerfile found")
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
			if _, err := os.Stat(filepath.Join(dir, ".ecrbase.yaml")); err == nil {
				t.Skip("has its own .ecrbase.yaml, which only the CLI applies: the main package's tests run it")
			}
			files, err := rewrite.Discover([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, df := range files {
				if rewrite.IsComposeFile(filepath.Base(df)) {
					checkComposeGolden(t, df)
					continue
				}
				checkGolden(t, dir, df)
			}
		})
	}
}

// checkGolden rewrites one example Dockerfile and compares the result with
// the rewritten.txt beside it.
func checkGolden(t *testing.T, example, df string) {
	t.Helper()
	in, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	opts := rewrite.Options{Region: exampleRegion}
	res, err := rewrite.File(df, in, opts)
	if err != nil {
		t.Fatalf("rewrite.File: %v", err)
	}
	for _, w := range res.Warnings {
		t.Logf("warning: %v", w)
	}

	golden := filepath.Join(filepath.Dir(df), goldenName)
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
		t.Errorf("rewrite of %s differs from %s (-want +got):\n%s", df, golden, diff)
	}

	if alreadyConverted[example] {
		if res.Changed || !bytes.Equal(res.Output, in) {
			t.Errorf("%s already pulls from ECR but the rewrite changed it", df)
		}
	} else if !res.Changed {
		t.Errorf("%s: the rewrite changed nothing; an example that needs no conversion shows nothing", df)
	}

	// The rewritten example is itself a converted Dockerfile.
	again, err := rewrite.File(golden, res.Output, opts)
	if err != nil {
		t.Fatalf("rewriting the output again: %v", err)
	}
	if again.Changed {
		t.Errorf("rewriting %s again changed it (-first +second):\n%s", golden, cmp.Diff(string(res.Output), string(again.Output)))
	}
}

// checkComposeGolden rewrites one example compose file and compares the
// result with <name>.rewritten.txt beside it (compose.rewritten.txt), a name
// discovery does not take for a compose file.
func checkComposeGolden(t *testing.T, file string) {
	t.Helper()
	in, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	opts := compose.Options{Options: rewrite.Options{Region: exampleRegion}, Environ: []string{}}
	res, err := compose.File(context.Background(), file, in, opts)
	if err != nil {
		t.Fatalf("compose.File: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
	base := filepath.Base(file)
	golden := filepath.Join(filepath.Dir(file), strings.TrimSuffix(base, filepath.Ext(base))+".rewritten.txt")
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
		t.Errorf("rewrite of %s differs from %s (-want +got):\n%s", file, golden, diff)
	}
	if !res.Changed {
		t.Errorf("%s: the rewrite changed nothing", file)
	}
	again, err := compose.File(context.Background(), file, res.Output, opts)
	if err != nil {
		t.Fatalf("rewriting the output again: %v", err)
	}
	if again.Changed {
		t.Errorf("rewriting %s again changed it (-first +second):\n%s", golden, cmp.Diff(string(res.Output), string(again.Output)))
	}
}
