package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

var errEOF = io.EOF

// span is a byte range of the file.
type span struct{ start, end int }

// edit replaces the bytes in at with text.
type edit struct {
	at   span
	text string
}

func apply(data []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return data
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.at.start - b.at.start })
	var out bytes.Buffer
	out.Grow(len(data) + 128*len(edits))
	last := 0
	for _, e := range edits {
		out.Write(data[last:e.at.start])
		out.WriteString(e.text)
		last = e.at.end
	}
	out.Write(data[last:])
	return out.Bytes()
}

// lineStarts are the offsets of each line of data.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset turns a node's line and column (counted in characters, from 1)
// into a byte offset.
func (c *composeFile) offset(line, column int) (int, bool) {
	if line < 1 || line > len(c.lines) {
		return 0, false
	}
	off := c.lines[line-1]
	if line == 1 && bytes.HasPrefix(c.data, []byte("\xEF\xBB\xBF")) {
		off += 3 // the parser does not count a byte order mark
	}
	for col := 1; col < column; col++ {
		if off >= len(c.data) || c.data[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(c.data[off:])
		off += size
	}
	return off, true
}

// span locates the bytes of a scalar's value: inside the quotes of a
// quoted scalar, the whole of a plain one. It is exact only when those
// bytes spell the value as it is (no escapes, no line folding), so that
// replacing them changes the value and nothing else.
func (c *composeFile) span(n *yaml.Node) (span, bool) {
	off, ok := c.offset(n.Line, n.Column)
	if !ok {
		return span{}, false
	}
	d := c.data
	// The node starts at its anchor or tag, when it has one.
	for off < len(d) && (d[off] == '&' || d[off] == '!') {
		for off < len(d) && d[off] != ' ' && d[off] != '\t' && d[off] != '\n' {
			off++
		}
		for off < len(d) && (d[off] == ' ' || d[off] == '\t') {
			off++
		}
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0, n.Style&yaml.SingleQuotedStyle != 0:
		q := byte('"')
		if n.Style&yaml.SingleQuotedStyle != 0 {
			q = '\''
		}
		if off >= len(d) || d[off] != q {
			return span{}, false
		}
		start := off + 1
		end := bytes.IndexByte(d[start:], q)
		if end < 0 {
			return span{}, false
		}
		end += start
		if string(d[start:end]) != n.Value || bytes.ContainsAny(d[start:end], "\\\n") {
			return span{}, false
		}
		if q == '\'' && end+1 < len(d) && d[end+1] == '\'' {
			return span{}, false // '' is an escaped quote
		}
		return span{start, end}, true
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return span{}, false
	}
	end := off + len(n.Value)
	if end > len(d) || string(d[off:end]) != n.Value {
		return span{}, false
	}
	// A plain scalar folded over several lines has spaces in its value
	// where the file has line breaks, so it never gets here.
	return span{off, end}, true
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns a YAML syntax error into an Error at its line.
func yamlError(name string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := msg[len(m[0]):]
		if l := problemLine(data, text); l > line {
			line = l
		}
		return &rewrite.Error{File: name, Line: line, Err: errors.New("invalid YAML: " + text)}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if m := regexp.MustCompile(`^line (\d+): `).FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &rewrite.Error{File: name, Line: line, Err: errors.New("invalid YAML: " + msg[len(m[0]):])}
		}
	}
	return &rewrite.Error{File: name, Err: fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))}
}

// problemLine finds the line a YAML syntax error is on. The parser names
// the line where the enclosing block starts; the first prefix of the file
// that fails with the same problem ends on the line at fault.
func problemLine(data []byte, text string) int {
	starts := lineStarts(data)
	if len(starts) > 2000 {
		return 0
	}
	for n := 1; n < len(starts); n++ {
		var v yaml.Node
		err := yaml.Unmarshal(data[:starts[n]], &v)
		if err == nil {
			continue
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil && err.Error()[len(m[0]):] == text {
			return n
		}
	}
	return 0
}

var schemaPath = regexp.MustCompile(`^([A-Za-z0-9_.\-]+):? `)
var additional = regexp.MustCompile(`additional properties ('[^']*'(?:, '[^']*')*) not allowed`)
var quotedKey = regexp.MustCompile(`'([^']+)'`)

// locate turns a compose-go error into an Error at the line its path
// names: "services.web additional properties 'foo' not allowed" is
// reported on the line of foo.
func locate(name string, docs []*yaml.Node, err error) error {
	abs := absPath(name)
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "validating "+abs+": ")
	msg = strings.ReplaceAll(msg, abs, name)
	msg = strings.Join(strings.Fields(msg), " ")
	msg = strings.TrimPrefix(msg, "error while interpolating ")
	// The schema lists the keys it refuses in map order: sort them.
	if m := additional.FindStringSubmatchIndex(msg); m != nil {
		keys := strings.Split(msg[m[2]:m[3]], ", ")
		slices.Sort(keys)
		msg = msg[:m[2]] + strings.Join(keys, ", ") + msg[m[3]:]
	}
	if strings.HasPrefix(msg, "additional properties") {
		msg = "not a compose file: top-level " + msg
	}
	unknown := ""
	if p, ok := strings.CutSuffix(msg, " false schema"); ok {
		// The schema allows no other key there.
		if i := strings.LastIndex(p, "."); i > 0 {
			msg, unknown = fmt.Sprintf("%s: unknown key %q", p[:i], p[i+1:]), p[i+1:]
		}
	}
	// YAML that yaml.v3 reads but compose's own parser refuses (a key
	// given twice, an alias bomb): "failed to parse F: yaml: construct
	// errors: line 1: line 4: ...", whose last line is the one at fault.
	if m := loaderYAML.FindStringSubmatchIndex(msg); m != nil {
		line := 1
		if ls := digits.FindAllString(msg[m[2]:m[3]], -1); len(ls) > 0 {
			line, _ = strconv.Atoi(ls[len(ls)-1])
		}
		return &rewrite.Error{File: name, Line: line, Err: errors.New("invalid YAML: " + strings.TrimPrefix(msg[m[1]:], "yaml: "))}
	}
	line := 0
	if m := schemaPath.FindStringSubmatch(msg); m != nil && strings.Contains(m[1], ".") || m != nil && m[1] == "services" {
		path := strings.Split(m[1], ".")
		if unknown != "" {
			path = append(path, unknown)
		} else if strings.Contains(msg, "additional properties") {
			if k := quotedKey.FindStringSubmatch(msg); k != nil {
				path = append(path, k[1])
			}
		}
		for _, doc := range docs {
			if l := nodeLine(doc.Content[0], path); l > line {
				line = l
			}
		}
	}
	if line == 0 {
		// An error in a file include: loads is reported on include:.
		for _, doc := range docs {
			if strings.Contains(msg, "include") || strings.Contains(msg, "extends") {
				if l := nodeLine(doc.Content[0], []string{"include"}); l > 0 {
					line = l
				}
			}
		}
	}
	if line == 0 {
		line = 1
	}
	return &rewrite.Error{File: name, Line: line, Err: errors.New(msg)}
}

var (
	loaderYAML = regexp.MustCompile(`^failed to parse .*?: yaml: (?:construct errors: )?((?:line \d+: )*)`)
	digits     = regexp.MustCompile(`\d+`)
)

// verify parses the rewritten file and checks it against the original,
// node by node: the same structure, the same values, and the new text in
// the nodes edited. The edits are byte-exact by construction; this makes a
// mistake an error instead of a corrupted file.
func (c *composeFile) verify(docs []*yaml.Node, out []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for _, want := range docs {
		got := new(yaml.Node)
		if err := dec.Decode(got); err != nil {
			return fmt.Errorf("the rewritten file does not parse: %v", err)
		}
		if err := c.same(want, got, 0); err != nil {
			return err
		}
	}
	return nil
}

func (c *composeFile) same(want, got *yaml.Node, depth int) error {
	if depth > 256 {
		return nil
	}
	v := want.Value
	if nv, ok := c.newValue[want]; ok {
		v = nv
	}
	if want.Kind != got.Kind || (want.Kind == yaml.ScalarNode && v != got.Value) || len(want.Content) != len(got.Content) {
		return fmt.Errorf("line %d: the rewrite would change more than the image (got %q)", got.Line, got.Value)
	}
	for i := range want.Content {
		if err := c.same(want.Content[i], got.Content[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}
