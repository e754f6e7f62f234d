package rewrite

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden want files")

// goldenOptions reads optional per-case settings from testdata/<case>/args:
// one "key=value" per line (build-arg, prefix, exclude, only, region,
// account, account-arg, region-arg, syntax, strict).
func goldenOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := Options{Region: "us-east-1"}
	data, err := os.ReadFile(filepath.Join(dir, "args"))
	if os.IsNotExist(err) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "build-arg":
			bk, bv, _ := strings.Cut(v, "=")
			if opts.BuildArgs == nil {
				opts.BuildArgs = map[string]string{}
			}
			opts.BuildArgs[bk] = bv
		case "prefix":
			pk, pv, _ := strings.Cut(v, "=")
			if opts.Prefixes == nil {
				opts.Prefixes = map[string]string{}
			}
			opts.Prefixes[pk] = pv
		case "exclude":
			opts.Exclude = append(opts.Exclude, v)
		case "only":
			opts.Only = append(opts.Only, v)
		case "region":
			opts.Region = v
		case "account":
			opts.Account = v
		case "account-arg":
			opts.AccountArg = v
		case "region-arg":
			opts.RegionArg = v
		case "syntax":
			opts.Syntax = SyntaxMode(v)
		case "onbuild":
			opts.OnBuild = OnBuildMode(v)
		case "strict":
			opts.Strict = v == "true"
		case "pin":
			pk, pv, _ := strings.Cut(v, "=")
			if opts.Pins == nil {
				opts.Pins = map[string]string{}
			}
			opts.Pins[pk] = pv
		default:
			t.Fatalf("%s/args: unknown key %q", dir, k)
		}
	}
	return opts
}

// report renders a rewrite the way the golden want file records it: the
// output, then one line per reference, then the warnings.
func report(res *Result, err error) []byte {
	var b bytes.Buffer
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.Bytes()
	}
	b.Write(res.Output)
	b.WriteString("\n---- refs\n")
	for _, r := range res.Refs {
		fmt.Fprintf(&b, "%d %s %s %q -> %s [%s]", r.Line, r.Kind, r.Status, r.Text, r.Reference, r.Repository)
		if r.URI != "" {
			fmt.Fprintf(&b, " uri=%s", r.URI)
		}
		if r.Upstream != "" && r.Upstream != r.Reference {
			fmt.Fprintf(&b, " upstream=%s", r.Upstream)
		}
		if r.OnBuild {
			b.WriteString(" onbuild")
		}
		if r.BuildArg != "" {
			fmt.Fprintf(&b, " build-arg %s=%s", r.BuildArg, r.BuildArgValue(Host(oracleAccount, oracleRegion)))
		}
		b.WriteString("\n")
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "warning: %v\n", w)
	}
	return b.Bytes()
}

// eachGolden runs fn, in parallel subtests, on every golden case: its
// directory, its Dockerfile (df and its bytes) and its options.
func eachGolden(t *testing.T, fn func(t *testing.T, dir, df string, data []byte, opts Options)) {
	t.Helper()
	dirs, err := filepath.Glob("testdata/*/Dockerfile")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, df := range dirs {
		dir := filepath.Dir(df)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(df)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, dir, df, data, goldenOptions(t, dir))
		})
	}
}

func TestGolden(t *testing.T) {
	eachGolden(t, func(t *testing.T, dir, df string, data []byte, opts Options) {
		res, err := File("Dockerfile", data, opts)
		got := report(res, err)
		wantFile := filepath.Join(dir, "want")
		if *update {
			if err := os.WriteFile(wantFile, got, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(wantFile)
		if err != nil {
			t.Fatalf("%v (run go test ./rewrite -update)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("File(%s) mismatch (-want +got):\n%s", df, diff)
		}
		if res == nil {
			return
		}
		// Idempotence: the output rewritten again is byte-identical.
		again, err := File("Dockerfile", res.Output, opts)
		if err != nil {
			t.Fatalf("rewriting the output: %v", err)
		}
		if !bytes.Equal(again.Output, res.Output) {
			t.Errorf("second rewrite changed the output (-first +second):\n%s", cmp.Diff(string(res.Output), string(again.Output)))
		}
	})
}
