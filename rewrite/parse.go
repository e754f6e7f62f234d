package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// parseWindow is how many bytes of a Dockerfile BuildKit's parser reads at
// a time. Its AST costs about 50 bytes per byte of a file of short
// instructions, so the file is parsed a window at a time and only what the
// rewrite needs is kept.
const parseWindow = 32 << 10

// parsed is what the rewrite keeps of BuildKit's parse of a file.
type parsed struct {
	escape    rune
	firstLine int // line of the first instruction
	// stages keep only their ARG instructions; fromWords[i] is the image
	// word of stage i's FROM as the parser split it.
	stages    []instructions.Stage
	fromWords []string
	metaArgs  []instructions.ArgCommand
	uses      []use
}

// use is an instruction that can name an image besides FROM: a COPY
// --from, a RUN --mount with from=, or an ONBUILD trigger (no kind, value
// its expression). Uses are in file order.
type use struct {
	stage, line int
	kind        Kind
	value       string
	mount       int // which --mount flag of the RUN
}

// parseFile parses data, window bytes at a time, with BuildKit's parser and instructions.Parse's
// rules, exactly as one parser.Parse and instructions.Parse of the whole
// file would, with memory bounded by a window instead of the file.
//
// Each window starts at an instruction and ends at a line end. The
// parser's state there is only the escape token (the directives are read
// before the first instruction), so a window is fed after a `# escape=`
// line of its own and its line numbers are shifted back. Its last
// instruction may be cut by the window's end: it is dropped and the next
// window starts at it. An error that reaches the window's last line may
// come from such a cut, and the window grows until it holds the rest of
// the file. Like the whole parse, a parser error anywhere wins over an
// instruction error.
//
// BuildKit's two parsers cost about the same: on a file of many windows,
// the next window is parsed while the instructions of the previous one are
// read.
func parseFile(data []byte, src *lineIndex, window int) (*parsed, error) {
	p := &parsed{escape: '\\'}
	var instErr error
	take := func(children []*parser.Node) {
		for _, n := range children {
			if instErr == nil {
				instErr = p.instruction(n)
			}
		}
	}
	var err error
	if len(data) <= 16*window {
		err = p.windows(data, src, window, take)
	} else {
		batches := make(chan []*parser.Node)
		done := make(chan error, 1)
		go func() {
			err := p.windows(data, src, window, func(children []*parser.Node) { batches <- children })
			close(batches)
			done <- err
		}()
		for children := range batches {
			take(children)
		}
		err = <-done
	}
	if err != nil {
		return nil, err
	}
	if instErr != nil {
		return nil, instErr
	}
	return p, nil
}

// windows parses data a window at a time and hands the instructions of
// each window to take, in order, with the lines and comments of a whole
// parse. It sets p.escape and p.firstLine before the first call of take.
func (p *parsed) windows(data []byte, src *lineIndex, window int, take func([]*parser.Node)) error {
	line := 1            // first line of the next window
	var carried []string // comments before the first instruction of the window
	size := window
	for first := true; ; {
		start := 0
		if !first {
			start = src.lineStart(line)
		}
		end, final := len(data), true
		if !first {
			// Room for the first instruction, which may be long, and more.
			size = max(size, instructionEnd(src, line, byte(p.escape))-start+window)
		}
		if start+size < len(data) {
			// The window ends a line into the instruction after the
			// continued lines at its size, as far as can be told: the
			// instruction it drops is then short.
			last := sort.SearchInts(src.start, start+size+1)
			next := sort.SearchInts(src.start, instructionEnd(src, last, byte(p.escape))) + 1
			if e := src.lineStart(next + 1); e < len(data) {
				end, final = e, false
			}
		}
		var r io.Reader = bytes.NewReader(data[start:end])
		shift := 0
		if !first {
			r = io.MultiReader(strings.NewReader("# escape="+string(p.escape)+"\n"), r)
			shift = line - 2
		}
		// The window's last line, numbered as the parser numbers it.
		last := sort.SearchInts(src.start, end) - shift
		res, err := parser.Parse(r)
		if err != nil {
			if !final && reachesLine(err, last) {
				size *= 2
				continue
			}
			return shiftError(err, shift)
		}
		children := res.AST.Children
		if !final && len(children) < 2 {
			size *= 2
			continue
		}
		if first {
			p.escape = res.EscapeToken
			p.firstLine = children[0].StartLine
		} else {
			children[0].PrevComment = carried
		}
		if !final {
			n := children[len(children)-1]
			line, carried = n.StartLine+shift, n.PrevComment
			children = children[:len(children)-1]
		}
		for _, n := range children {
			n.StartLine += shift
			n.EndLine += shift
		}
		take(children)
		if final {
			return nil
		}
		first, size = false, window
	}
}

// instructionEnd is where the instruction that starts on line n likely
// ends: after the lines its line continuations join, comment and blank
// lines among them. Heredocs are not followed: it only sizes windows.
func instructionEnd(src *lineIndex, n int, escape byte) int {
	for first := true; n <= len(src.start); n, first = n+1, false {
		raw, _ := src.line(n)
		t := bytes.TrimRight(raw, "\r\n")
		if !first && (isComment(t) || len(bytes.TrimSpace(t)) == 0) {
			continue
		}
		u := bytes.TrimRight(t, " \t")
		if k := len(u); k == 0 || u[k-1] != escape || (k >= 2 && u[k-2] == escape) {
			return src.lineStart(n + 1)
		}
	}
	return len(src.data)
}

// instruction parses one top-level node as instructions.Parse does, and
// keeps what the rewrite needs of it.
func (p *parsed) instruction(n *parser.Node) error {
	cmd, err := instructions.ParseInstructionWithLinter(n, lint)
	if err != nil {
		return err
	}
	if a, ok := cmd.(*instructions.ArgCommand); ok && len(p.stages) == 0 {
		p.metaArgs = append(p.metaArgs, *a)
		return nil
	}
	switch c := cmd.(type) {
	case *instructions.Stage:
		c.SourceCode = ""
		p.stages = append(p.stages, *c)
		word := ""
		if n.Next != nil {
			word = strings.Clone(n.Next.Value)
		}
		p.fromWords = append(p.fromWords, word)
	case instructions.Command:
		st, err := instructions.CurrentStage(p.stages)
		if err != nil {
			return parser.WithLocation(err, n.Location())
		}
		p.command(len(p.stages)-1, st, c)
	default:
		return parser.WithLocation(fmt.Errorf("%T is not a command type", cmd), n.Location())
	}
	return nil
}

// command keeps an instruction of stage i: an ARG in the stage, the image
// uses as uses.
func (p *parsed) command(i int, st *instructions.Stage, cmd instructions.Command) {
	line := cmd.Location()[0].Start.Line
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		st.AddCommand(c)
	case *instructions.OnbuildCommand:
		p.uses = append(p.uses, use{stage: i, line: line, value: c.Expression})
	case *instructions.CopyCommand:
		if c.From != "" {
			p.uses = append(p.uses, use{stage: i, line: line, kind: KindCopyFrom, value: c.From})
		}
	case *instructions.RunCommand:
		for m, mount := range instructions.GetMounts(c) {
			if mount.From != "" {
				p.uses = append(p.uses, use{stage: i, line: line, kind: KindMountFrom, value: mount.From, mount: m})
			}
		}
	}
}

// reachesLine reports whether a parser error is located on line last or
// after it.
func reachesLine(err error, last int) bool {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return true
	}
	for _, rs := range le.Locations {
		for _, r := range rs {
			if r.Start.Line >= last || r.End.Line >= last {
				return true
			}
		}
	}
	return false
}

// shiftError moves the locations of a parser error in a window to lines of
// the file.
func shiftError(err error, shift int) error {
	var le *parser.LocationError
	if shift == 0 || !errors.As(err, &le) {
		return err
	}
	for _, rs := range le.Locations {
		for i := range rs {
			rs[i].Start.Line += shift
			rs[i].End.Line += shift
		}
	}
	return err
}
