package rewrite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// buildkitAccepts reports whether BuildKit's parser and instruction parser
// take data without error.
func buildkitAccepts(data []byte) bool {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return false
	}
	_, _, err = instructions.Parse(res.AST, lint)
	return err == nil
}

// FuzzFile checks, for any input BuildKit accepts, that the output parses,
// that only reference tokens changed, and that a second rewrite is a no-op.
func FuzzFile(f *testing.F) {
	cases, _ := filepath.Glob("testdata/*/Dockerfile")
	for _, c := range cases {
		if data, err := os.ReadFile(c); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	opts := Options{Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !buildkitAccepts(data) {
			return
		}
		res, err := File("Dockerfile", data, opts)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("File returned %T %v, want *Error", err, err)
			}
			return
		}
		if !buildkitAccepts(res.Output) {
			t.Fatalf("output does not parse:\n%s", res.Output)
		}
		for _, r := range res.Refs {
			// A reference that used AWS_ACCOUNT_ID or AWS_REGION without
			// declaring them was broken before the rewrite declared them;
			// it may resolve differently now (FROM 0${AWS_REGION} was "0",
			// and is "0us-east-1" once ARG AWS_REGION=us-east-1 exists).
			if r.Status != StatusAlreadyECR && !declares(data, "AWS_ACCOUNT_ID", "AWS_REGION") &&
				(strings.Contains(r.Text, "AWS_ACCOUNT_ID") || strings.Contains(r.Text, "AWS_REGION")) {
				return
			}
		}
		again, err := File("Dockerfile", res.Output, opts)
		if err != nil {
			t.Fatalf("rewriting the output: %v\n%s", err, res.Output)
		}
		if !bytes.Equal(again.Output, res.Output) {
			t.Fatalf("not idempotent:\nfirst:\n%s\nsecond:\n%s", res.Output, again.Output)
		}
		checkOnlyReferencesChanged(t, data, res)
	})
}

var (
	insertedLine = regexp.MustCompile(`^(ARG (AWS_ACCOUNT_ID|AWS_REGION(=us-east-1)?)|FROM \S+\.dkr\.ecr\.\S+ AS ecr-\S+)\r?\n$`)
)

// checkOnlyReferencesChanged aligns input and output lines, drops the
// lines the rewrite inserts, and compares each changed line with its input:
// the separators (blanks, commas, equals signs, quotes) must be identical,
// and every token that differs must be a reference the rewrite reported (or
// a stage index), replaced by an ECR URI, an alias stage or another index.
func checkOnlyReferencesChanged(t *testing.T, in []byte, res *Result) {
	t.Helper()
	known := map[string]bool{}
	for _, r := range res.Refs {
		known[r.Text] = true
		if r.Reference != "" {
			known[r.Reference] = true
		}
	}
	before := string(bytes.TrimPrefix(in, bom))
	for _, e := range udiff.Lines(before, string(bytes.TrimPrefix(res.Output, bom))) {
		dels, adds := lines(before[e.Start:e.End]), lines(e.New)
		// Pair each changed input line with the next output line that is
		// a rewrite of it; output lines skipped on the way must be ones
		// the rewrite inserts.
		j := 0
		for _, d := range dels {
			for j < len(adds) && compareLine(known, d, adds[j]) != nil && insertedLine.MatchString(adds[j]) {
				j++
			}
			if j == len(adds) {
				t.Fatalf("input line %q has no rewritten counterpart in %q", d, adds)
			}
			if err := compareLine(known, d, adds[j]); err != nil {
				t.Fatal(err)
			}
			j++
		}
		for ; j < len(adds); j++ {
			if !insertedLine.MatchString(adds[j]) {
				t.Fatalf("line added beyond the ARG block and alias stages: %q", adds[j])
			}
		}
	}
}

// lines splits text after each newline.
func lines(text string) []string {
	out := strings.SplitAfter(text, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func compareLine(known map[string]bool, a, b string) error {
	sa, ta := tokens(a)
	sb, tb := tokens(b)
	if !slicesEqual(sa, sb) {
		return fmt.Errorf("separators changed:\n-%q\n+%q", a, b)
	}
	for j := range ta {
		if ta[j] == tb[j] {
			continue
		}
		okIn := known[ta[j]] || known[normalized(ta[j])] || isDigits(ta[j]) || sameImage(ta[j], tb[j]) || headReplaced(ta[j], tb[j])
		okOut := strings.Contains(tb[j], ".dkr.ecr.") || strings.HasPrefix(tb[j], "ecr-") || isDigits(tb[j])
		if !okIn || !okOut {
			return fmt.Errorf("token %q became %q, which is not a reference rewrite:\n-%q\n+%q", ta[j], tb[j], a, b)
		}
	}
	return nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestOnlyReferencesChanged runs the fuzz property over the golden cases.
func TestOnlyReferencesChanged(t *testing.T) {
	cases, _ := filepath.Glob("testdata/*/Dockerfile")
	for _, c := range cases {
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		res, err := File("Dockerfile", data, Options{Region: "us-east-1"})
		if err != nil {
			continue
		}
		t.Run(filepath.Base(filepath.Dir(c)), func(t *testing.T) { checkOnlyReferencesChanged(t, data, res) })
	}
}

// normalized is the reference a token names, as Docker reads it, or "".
func normalized(token string) string {
	named, err := reference.ParseNormalizedNamed(token)
	if err != nil {
		return ""
	}
	return reference.TagNameOnly(named).String()
}

// sameImage reports whether out is in as an ECR URI: the same last name
// component and the same tag and digest as written (variables included),
// for references whose text a test cannot resolve on its own.
func sameImage(in, out string) bool {
	name, suffix := splitRef(in)
	outName, outSuffix := splitRef(out)
	return strings.Contains(out, ".dkr.ecr.") && suffix == outSuffix &&
		name[strings.LastIndex(name, "/")+1:] == outName[strings.LastIndex(outName, "/")+1:]
}

// headReplaced reports whether out is in with only its head (the leading
// variable or literal up to the first $) replaced by, or prefixed with, an
// ECR host and repository: how an image name held in ARGs is rewritten,
// in the FROM or in an ARG default.
func headReplaced(in, out string) bool {
	head, _ := headToken(in)
	for _, rest := range []string{in[len(head):], in} {
		if strings.HasSuffix(out, rest) && strings.Contains(out[:len(out)-len(rest)], ".dkr.ecr.") {
			return true
		}
	}
	return false
}

// tokens splits a line into runs of separators and the tokens between them,
// byte by byte as BuildKit's parser does: blanks (a byte such as 0x85 or
// 0xA0 is one there, even inside a UTF-8 character), commas, equals signs,
// quotes and escape characters separate.
func tokens(line string) (seps, toks []string) {
	isSep := func(c byte) bool { return isSpace(c) || strings.IndexByte(",=\"'\\`", c) >= 0 }
	start := 0
	for i := 0; i < len(line); {
		if !isSep(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isSep(line[j]) {
			j++
		}
		toks = append(toks, line[start:i])
		seps = append(seps, line[i:j])
		start, i = j, j
	}
	return seps, append(toks, line[start:])
}

// declares reports whether the meta ARGs of data declare all of names.
func declares(data []byte, names ...string) bool {
	f, err := analyze("Dockerfile", data, Options{Region: "us-east-1"})
	if err != nil {
		return false
	}
	for _, n := range names {
		if f.declared[n] == 0 {
			return false
		}
	}
	return true
}
