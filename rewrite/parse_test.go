package rewrite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// parseInputs are the Dockerfiles of testdata, the fuzz corpus and files
// made of the shapes that carry parser state across lines: continuations
// with comments and empty lines, heredocs, CRLF, a BOM, escape directives,
// directive-like comments and a BOM after the first line, errors of both
// parsers at once.
func parseInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{
		"heredoc":        []byte("FROM a AS x\nRUN <<EOF\nFROM b\nRUN x \\\nEOF\nCOPY <<-EOT /f\n\tFROM c\n\tEOT\nCOPY --from=x / /\n"),
		"continuation":   []byte("FROM a\nRUN a \\\n# comment\n\n  \\\n   b\nCOPY --from=z \\\n  /a /b\nFROM z AS q\n"),
		"crlf-bom":       []byte("\xEF\xBB\xBF# syntax=docker/dockerfile:1\r\nFROM a\r\nRUN x \\\r\n y\r\nFROM b AS c\r\nCOPY --from=c / /\r\n"),
		"escape":         []byte("# escape=`\nFROM a\nRUN a `\n  b\\\nCOPY --from=a `\n /a /b\nFROM c\n"),
		"escape-later":   []byte("FROM a\n# escape=`\nRUN a \\\n b\n# syntax=x\nFROM b\n"),
		"bom-later":      []byte("FROM a\n\xEF\xBB\xBFRUN x\nFROM b\n"),
		"unterminated":   []byte("FROM a\nRUN x\nRUN <<EOF\nFROM b\n"),
		"both-errors":    []byte("FROM a\nNOPE x\nRUN y\nRUN <<EOF\nFROM b\n"),
		"no-stage":       []byte("ARG A=1\n# c\nRUN x\nFROM a\n"),
		"onbuild":        []byte("FROM a AS b\nONBUILD COPY --from=c / /\nONBUILD RUN --mount=from=d true\nFROM b\n"),
		"only-comments":  []byte("# a\n\n# b\n"),
		"check":          []byte("# check=error=true\nFROM a as B\n# desc\nARG X\nMAINTAINER me\n"),
		"long-line":      []byte("FROM a\nRUN " + strings.Repeat("x", 70000) + "\nFROM b\n"),
		"empty-cont":     []byte("FROM a\nRUN a \\\n\n\\\n b\n\nFROM b\n"),
		"escape-escaped": []byte("FROM a\nRUN a \\\\\nFROM b\n"),
	}
	files, _ := filepath.Glob("testdata/*/Dockerfile")
	corpus, _ := filepath.Glob("testdata/corpus/*/*")
	more, _ := filepath.Glob("testdata/corpus/*/*/*")
	files = append(append(files, corpus...), more...)
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			in[name] = data
		}
	}
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzFile/*")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		_, q, ok := strings.Cut(string(data), "[]byte(")
		if s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(q), ")"))); ok && err == nil {
			in[name] = []byte(s)
		}
	}
	if len(in) < 100 {
		t.Fatalf("only %d inputs", len(in))
	}
	return in
}

// parseAll parses data with parseFile in windows of size bytes.
func parseAll(data []byte, size int) (*parsed, error) {
	return parseFile(data, newLineIndex(data, '\\'), size)
}

// sameParse fails unless two results of parseFile are the same, errors
// included (message and every location).
func sameParse(t *testing.T, what string, want, got *parsed, wantErr, gotErr error) {
	t.Helper()
	if stable(wantErr) != stable(gotErr) || stable(locations(wantErr)) != stable(locations(gotErr)) {
		t.Fatalf("%s: error %v at %v, want %v at %v", what, gotErr, locations(gotErr), wantErr, locations(wantErr))
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// locations is the error as the rewrite reports it: message and line.
func locations(err error) error {
	if err == nil {
		return nil
	}
	f := &file{name: "Dockerfile"}
	return f.parseError(err)
}

// didYouMean is BuildKit's suggestion for an unknown instruction, which it
// picks from a map: "A" gets ADD or ARG, at random.
var didYouMean = regexp.MustCompile(` \(did you mean [^)]*\)`)

func stable(err error) string {
	return didYouMean.ReplaceAllString(fmt.Sprint(err), "")
}

// TestParseWindows parses every input in windows of many sizes and checks
// the result is the one of a whole-file parse, which must itself agree with
// BuildKit's parser.Parse and instructions.Parse of the whole file.
func TestParseWindows(t *testing.T) {
	t.Parallel()
	for name, data := range parseInputs(t) {
		want, wantErr := parseAll(data, len(data)+1)
		checkAgainstBuildKit(t, name, data, want, wantErr)
		for _, size := range []int{1, 2, 3, 7, 16, 50, 200, 1000} {
			got, err := parseAll(data, size)
			sameParse(t, fmt.Sprintf("%s in windows of %d", name, size), want, got, wantErr, err)
		}
	}
}

// checkAgainstBuildKit compares a whole-file parseFile with BuildKit's own
// parse of the file.
func checkAgainstBuildKit(t *testing.T, name string, data []byte, p *parsed, err error) {
	t.Helper()
	res, bkErr := parser.Parse(bytes.NewReader(data))
	var stages []instructions.Stage
	var metaArgs []instructions.ArgCommand
	if bkErr == nil {
		stages, metaArgs, bkErr = instructions.Parse(res.AST, lint)
	}
	if stable(locations(err)) != stable(locations(bkErr)) {
		t.Fatalf("%s: parseFile error %v, BuildKit %v", name, locations(err), locations(bkErr))
	}
	if bkErr != nil {
		return
	}
	if p.escape != res.EscapeToken || p.firstLine != res.AST.Children[0].StartLine {
		t.Fatalf("%s: escape %q line %d, BuildKit %q line %d", name, p.escape, p.firstLine, res.EscapeToken, res.AST.Children[0].StartLine)
	}
	if !reflect.DeepEqual(p.metaArgs, metaArgs) || len(p.stages) != len(stages) {
		t.Fatalf("%s: %d stages, meta ARGs %+v; BuildKit %d, %+v", name, len(p.stages), p.metaArgs, len(stages), metaArgs)
	}
	uses := 0
	for i, st := range stages {
		got := p.stages[i]
		if got.Name != st.Name || got.BaseName != st.BaseName || got.Platform != st.Platform ||
			got.DocComment != st.DocComment || !reflect.DeepEqual(got.Comments, st.Comments) || !reflect.DeepEqual(got.Location, st.Location) {
			t.Fatalf("%s: stage %d is %+v, BuildKit %+v", name, i, got, st)
		}
		var args []instructions.Command
		for _, c := range st.Commands {
			if _, ok := c.(*instructions.ArgCommand); ok {
				args = append(args, c)
			}
			var u []use
			for ; uses < len(p.uses) && p.uses[uses].line == c.Location()[0].Start.Line; uses++ {
				u = append(u, p.uses[uses])
			}
			if want := expectedUses(i, c); !reflect.DeepEqual(u, want) {
				t.Fatalf("%s: uses of line %d are %+v, want %+v", name, c.Location()[0].Start.Line, u, want)
			}
		}
		if (len(got.Commands) > 0 || len(args) > 0) && !reflect.DeepEqual(got.Commands, args) {
			t.Fatalf("%s: stage %d keeps %+v, want its ARGs %+v", name, i, got.Commands, args)
		}
	}
	if uses != len(p.uses) {
		t.Fatalf("%s: %d uses, BuildKit's instructions have %d", name, len(p.uses), uses)
	}
}

func expectedUses(i int, cmd instructions.Command) []use {
	var out []use
	line := cmd.Location()[0].Start.Line
	switch c := cmd.(type) {
	case *instructions.OnbuildCommand:
		out = append(out, use{stage: i, line: line, value: c.Expression})
	case *instructions.CopyCommand:
		if c.From != "" {
			out = append(out, use{stage: i, line: line, kind: KindCopyFrom, value: c.From})
		}
	case *instructions.RunCommand:
		for m, mount := range instructions.GetMounts(c) {
			if mount.From != "" {
				out = append(out, use{stage: i, line: line, kind: KindMountFrom, value: mount.From, mount: m})
			}
		}
	}
	return out
}

// TestParseWindowsRandom builds files from pieces that carry parser state
// across lines and parses them in small windows.
func TestParseWindowsRandom(t *testing.T) {
	t.Parallel()
	pieces := []string{
		"FROM a AS s\n", "FROM s\n", "FROM --platform=$BUILDPLATFORM b:1\n", "ARG X=1\n", "RUN x\n",
		"RUN a \\\n", "  b \\\n", "# comment\n", "\n", "   \n", "\\\n", "COPY --from=s / /\n",
		"RUN --mount=type=bind,from=busybox,target=/b true\n", "RUN <<EOF\n", "EOF\n", "COPY <<-X /f\n", "\tX\n",
		"ONBUILD COPY --from=c / /\n", "# escape=`\n", "\xEF\xBB\xBFRUN y\n", "FROM a\r\n", "RUN a `\n",
		"NOPE\n", "RUN \"unterminated\n", "ENV A=1 B\n", "FROM\n", "#\n", "# syntax=x\n",
	}
	heads := []string{"", "# escape=`\n", "\xEF\xBB\xBF", "# syntax=docker/dockerfile:1\n# check=skip=all\n"}
	rng := rand.New(rand.NewPCG(13, 13))
	for n := range 3000 {
		var b strings.Builder
		b.WriteString(heads[rng.IntN(len(heads))])
		b.WriteString("FROM base\n")
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		data := []byte(b.String())
		if rng.IntN(4) == 0 {
			data = bytes.TrimSuffix(data, []byte("\n"))
		}
		want, wantErr := parseAll(data, len(data)+1)
		checkAgainstBuildKit(t, fmt.Sprintf("random %d %q", n, data), data, want, wantErr)
		for _, size := range []int{1, 5, 30} {
			got, err := parseAll(data, size)
			sameParse(t, fmt.Sprintf("random %d %q in windows of %d", n, data, size), want, got, wantErr, err)
		}
	}
}

// FuzzParseWindows checks that windows of any size parse any input as the
// whole file does.
func FuzzParseWindows(f *testing.F) {
	f.Add([]byte("FROM a\nRUN <<EOF\nx\nEOF\nCOPY --from=a / /\n"), 3)
	f.Add([]byte("# escape=`\nFROM a\nRUN a `\n b\nFROM b\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		if size < 1 || size > 1<<16 || bytes.IndexByte(data, 0) >= 0 {
			return
		}
		want, wantErr := parseAll(data, len(data)+1)
		checkAgainstBuildKit(t, "input", data, want, wantErr)
		got, err := parseAll(data, size)
		sameParse(t, fmt.Sprintf("windows of %d", size), want, got, wantErr, err)
	})
}
