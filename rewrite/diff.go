package rewrite

import (
	"bytes"
	"fmt"
	"io"
)

// Diff writes a unified diff (three lines of context) from a to b, labelled
// with name. It writes nothing when they are equal.
func Diff(w io.Writer, name string, a, b []byte) error {
	if bytes.Equal(a, b) {
		return nil
	}
	x, y := splitLines(a), splitLines(b)
	ops := lineOps(x, y)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "--- %s\n+++ %s\n", name, name)
	const context = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk runs from the change, with context, until two changes are
		// more than 2*context lines apart.
		start := max(i-context, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*context {
				break
			}
		}
		end = min(end+context+1, len(ops))
		ax, ay := ops[start].ax, ops[start].ay
		var na, nb int
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				na++
			}
			if op.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&buf, "@@ -%d,%d +%d,%d @@\n", ax+1, na, ay+1, nb)
		for _, op := range ops[start:end] {
			buf.WriteByte(op.kind)
			buf.Write(op.line)
			if !bytes.HasSuffix(op.line, []byte("\n")) {
				buf.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type lineOp struct {
	kind   byte // ' ', '-' or '+'
	line   []byte
	ax, ay int // line index in a and b where the op applies
}

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

// lineOps aligns two line lists by their longest common subsequence. The
// equal lines at both ends are set aside first, so the quadratic table only
// covers the part that changed.
func lineOps(x, y [][]byte) []lineOp {
	pre := 0
	for pre < len(x) && pre < len(y) && bytes.Equal(x[pre], y[pre]) {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && bytes.Equal(x[len(x)-1-suf], y[len(y)-1-suf]) {
		suf++
	}
	var ops []lineOp
	for i := range pre {
		ops = append(ops, lineOp{' ', x[i], i, i})
	}
	for _, op := range middleOps(x[pre:len(x)-suf], y[pre:len(y)-suf]) {
		op.ax, op.ay = op.ax+pre, op.ay+pre
		ops = append(ops, op)
	}
	for k := suf; k > 0; k-- {
		i, j := len(x)-k, len(y)-k
		ops = append(ops, lineOp{' ', x[i], i, j})
	}
	return ops
}

func middleOps(x, y [][]byte) []lineOp {
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if bytes.Equal(x[i], y[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []lineOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && bytes.Equal(x[i], y[j]):
			ops = append(ops, lineOp{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, lineOp{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, lineOp{'+', y[j], i, j})
			j++
		}
	}
	return ops
}
