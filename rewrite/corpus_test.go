package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// coverage is what a rewrite leaves upstream in a tree of Dockerfiles.
type coverage struct {
	files, failed int
	pulls, ecr    int      // image pulls outside # syntax=, and those pointed at ECR
	left          []string // "path:line status" of every pull left upstream
	reasons       map[string]int
}

// measure rewrites every Dockerfile under root, checks each against
// BuildKit (oracleCheck), that a second rewrite changes nothing and that
// only references changed, and counts where the pulls go afterwards.
func measure(t *testing.T, root string) coverage {
	t.Helper()
	files, err := Discover([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	cov := coverage{reasons: map[string]int{}}
	opts := Options{Region: "us-east-1"}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		cov.files++
		res, err := File(rel, data, opts)
		if err != nil {
			var e *Error
			line := 0
			if errors.As(err, &e) {
				line = e.Line
			}
			cov.failed++
			cov.left = append(cov.left, fmt.Sprintf("%s:%d error", rel, line))
			continue
		}
		bkArgs := map[string]string{"AWS_ACCOUNT_ID": oracleAccount, "AWS_REGION": oracleRegion}
		if _, bkErr := buildkitRefs(data, bkArgs); bkErr != nil && !slices.ContainsFunc(res.Refs, func(r Ref) bool { return r.Status == StatusUnresolved }) {
			// BuildKit parses the file but refuses to build it, for a
			// reason in an instruction that pulls nothing (an unsupported
			// ${VAR:modifier} in ENV): no build pulls anything from it.
			t.Logf("%s: BuildKit refuses to build it: %v", rel, bkErr)
			cov.failed++
			cov.left = append(cov.left, rel+":0 error")
			continue
		}
		oracleCheck(t, rel, data, opts)
		again, err := File(rel, res.Output, opts)
		if err != nil {
			t.Errorf("%s: rewriting the output: %v", rel, err)
			continue
		}
		if !bytes.Equal(again.Output, res.Output) {
			t.Errorf("%s: a second rewrite changed the output:\n%s", rel, cmp.Diff(string(res.Output), string(again.Output)))
		}
		if err := onlyLinesInserted(data, res); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		// What the rewritten file pulls, as ecrbase reads it again; what
		// stays upstream, at its line in the file as written.
		pulls, ecr := 0, 0
		for _, r := range again.Refs {
			if r.Kind == KindSyntax || r.Status == StatusStage || r.Status == StatusScratch {
				continue
			}
			pulls++
			if r.Status == StatusAlreadyECR {
				ecr++
			}
		}
		left := 0
		for _, r := range res.Refs {
			switch {
			case r.Kind == KindSyntax, r.Status == StatusStage, r.Status == StatusScratch,
				r.Status == StatusAlreadyECR, r.Status == StatusRewrite && r.URI != "":
				continue
			}
			left++
			cov.left = append(cov.left, fmt.Sprintf("%s:%d %s", rel, r.Line, r.Status))
			cov.reasons[string(r.Status)+": "+r.Note]++
		}
		if pulls-ecr != left {
			t.Errorf("%s: read again, the rewritten file has %d of %d pulls outside ECR; the rewrite reported %d left upstream", rel, pulls-ecr, pulls, left)
		}
		cov.pulls += pulls
		cov.ecr += ecr
	}
	return cov
}

func (c coverage) String() string {
	return fmt.Sprintf("%d Dockerfiles (%d that BuildKit rejects), %d pulls, %d pointed at ECR (%.2f%%)",
		c.files, c.failed, c.pulls, c.ecr, 100*float64(c.ecr)/float64(max(c.pulls, 1)))
}

// TestCorpus rewrites a tree of Dockerfiles of this project's own, written
// in the shapes real repositories use (a vendor's runtime images with the
// repository in an ARG, notebook images with composed defaults, official
// images, a BuildKit-style build, dev containers, a template BuildKit
// rejects, Latin-1 comments), and checks that every pull but those listed in
// testdata/corpus/expected goes to ECR. With ECRBASE_CORPUS set to a
// directory of real repositories' Dockerfiles, it measures that too, per
// top-level directory, and logs what stays upstream and why.
func TestCorpus(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "corpus")
	cov := measure(t, root)
	t.Logf("testdata/corpus: %v", cov)
	data, err := os.ReadFile(filepath.Join(root, "expected"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	slices.Sort(cov.left)
	if diff := cmp.Diff(want, cov.left); diff != "" {
		t.Errorf("pulls left upstream in testdata/corpus (-expected +got):\n%s\nreasons: %v", diff, cov.reasons)
	}
	if cov.pulls < 30 {
		t.Errorf("testdata/corpus has %d pulls, want at least 30", cov.pulls)
	}

	dir := os.Getenv("ECRBASE_CORPUS")
	if dir == "" {
		return
	}
	repos, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total coverage
	reasons := map[string]int{}
	for _, repo := range repos {
		if !repo.IsDir() {
			continue
		}
		c := measure(t, filepath.Join(dir, repo.Name()))
		t.Logf("%s: %v", repo.Name(), c)
		for _, l := range c.left {
			t.Logf("  left upstream: %s/%s", repo.Name(), l)
		}
		total.files += c.files
		total.failed += c.failed
		total.pulls += c.pulls
		total.ecr += c.ecr
		for k, v := range c.reasons {
			reasons[k] += v
		}
	}
	t.Logf("total: %v", total)
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		t.Logf("  %d × %s", reasons[k], k)
	}
}

// onlyLinesInserted checks a rewrite line by line: once the lines it
// inserts (the ARG block, alias stages) are dropped, the output has the
// input's lines, each unchanged or changed only in its references.
func onlyLinesInserted(in []byte, res *Result) error {
	known := map[string]bool{}
	for _, r := range res.Refs {
		known[r.Text] = true
		if r.Reference != "" {
			known[r.Reference] = true
		}
	}
	a := splitLines(bytes.TrimPrefix(in, bom))
	b := splitLines(bytes.TrimPrefix(res.Output, bom))
	j := 0
	for i := range a {
		for j < len(b) && !bytes.Equal(a[i], b[j]) && insertedLine.Match(b[j]) &&
			(compareLine(known, string(a[i]), string(b[j])) != nil || !sameStageName(a[i], b[j])) {
			j++
		}
		if j == len(b) {
			return fmt.Errorf("input line %d %q has no counterpart in the output", i+1, a[i])
		}
		if !bytes.Equal(a[i], b[j]) {
			if err := compareLine(known, string(a[i]), string(b[j])); err != nil {
				return fmt.Errorf("line %d: %v", i+1, err)
			}
		}
		j++
	}
	for ; j < len(b); j++ {
		if !insertedLine.Match(b[j]) {
			return fmt.Errorf("output line %q added at the end", b[j])
		}
	}
	return nil
}

var stageName = regexp.MustCompile(`(?i)\sAS\s+(\S+)\s*$`)

// sameStageName reports whether two FROM lines name the same stage (or
// neither names one): an inserted alias stage names its own.
func sameStageName(a, b []byte) bool {
	ma, mb := stageName.FindSubmatch(a), stageName.FindSubmatch(b)
	if ma == nil || mb == nil {
		return ma == nil && mb == nil
	}
	return bytes.EqualFold(ma[1], mb[1])
}

// splitLines splits b after each newline, keeping it.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}
