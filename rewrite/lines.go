package rewrite

import (
	"bytes"
	"unicode"
)

// lineIndex indexes the raw bytes of a Dockerfile by line, so that a token the
// parser reports can be traced back to the exact bytes that spell it.
type lineIndex struct {
	data   []byte
	start  []int // start[i] is the offset of line i+1
	crlf   bool  // the file's first line ends in CRLF
	escape byte  // the escape token, \\ or `
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newLineIndex(data []byte, escape rune) *lineIndex {
	s := &lineIndex{data: data, start: make([]int, 0, bytes.Count(data, []byte{'\n'})+1)}
	first := 0
	if bytes.HasPrefix(data, bom) {
		first = len(bom)
	}
	s.start = append(s.start, first)
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			s.start = append(s.start, i+1)
		}
	}
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		s.crlf = true
	}
	s.escape = byte(escape)
	return s
}

// continues applies BuildKit's line-continuation rule (the parser's
// regular expression, without its cost): the escape token continues the
// line when it is the last character but blanks and tabs, and is not itself
// escaped. end is where the line's text stops.
func (s *lineIndex) continues(t []byte) (end int, ok bool) {
	u := bytes.TrimRight(t, " \t")
	n := len(u)
	if n == 0 || u[n-1] != s.escape || (n >= 2 && u[n-2] == s.escape) {
		return 0, false
	}
	return n - 1, true
}

func (s *lineIndex) eol() string {
	if s.crlf {
		return "\r\n"
	}
	return "\n"
}

// line returns the raw bytes of line n (1-based) with its line ending, and
// the offset where they start.
func (s *lineIndex) line(n int) ([]byte, int) {
	if n < 1 || n > len(s.start) {
		return nil, len(s.data)
	}
	end := len(s.data)
	if n < len(s.start) {
		end = s.start[n]
	}
	return s.data[s.start[n-1]:end], s.start[n-1]
}

// lineStart is the offset of line n, or the end of the file.
func (s *lineIndex) lineStart(n int) int {
	_, off := s.line(n)
	return off
}

// logical joins the instruction that starts on line n the way BuildKit's
// parser does (leading blanks dropped, continuation tokens removed, comment
// and blank lines inside a continuation skipped). pos[i] is the offset in
// the file of text[i].
func (s *lineIndex) logical(n int) (text []byte, pos []int) {
	for first := true; ; first = false {
		raw, off := s.line(n)
		if raw == nil {
			return text, pos
		}
		n++
		t := bytes.TrimRight(raw, "\r\n")
		if first {
			trimmed := bytes.TrimLeftFunc(t, unicode.IsSpace)
			off += len(t) - len(trimmed)
			t = trimmed
		} else if isComment(t) || len(bytes.TrimLeftFunc(t, unicode.IsSpace)) == 0 {
			continue
		}
		more := false
		if end, ok := s.continues(t); ok {
			more, t = true, t[:end]
		}
		for i := range t {
			pos = append(pos, off+i)
		}
		text = append(text, t...)
		if !more {
			return text, pos
		}
	}
}

func isComment(line []byte) bool {
	line = bytes.TrimLeftFunc(line, unicode.IsSpace)
	return len(line) > 0 && line[0] == '#'
}

// span is a half-open byte range [start, end).
type span struct{ start, end int }

// words splits a logical instruction into words the way BuildKit's flag
// scanner does: blanks separate words except inside quotes, and the escape
// token protects the next character.
func words(text []byte, escape byte) []span {
	var out []span
	i := 0
	for i < len(text) {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			break
		}
		start := i
		var quote byte
		for i < len(text) {
			c := text[i]
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case c == escape:
				i++
			case quote != 0:
			case c == '\'' || c == '"':
				quote = c
			case isSpace(c):
				out = append(out, span{start, i})
				goto next
			}
			i++
		}
		if i > len(text) {
			i = len(text)
		}
		out = append(out, span{start, i})
	next:
	}
	return out
}

// isSpace is white space as BuildKit's parser sees it: it converts each
// byte to a rune, so 0x85 and 0xA0 separate words even inside a UTF-8
// character ("à" is C3 A0) or in Latin-1 text.
func isSpace(c byte) bool { return unicode.IsSpace(rune(c)) }
