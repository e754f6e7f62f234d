package rewrite

import (
	"bytes"
	"fmt"
	"io"

	"github.com/aymanbagabas/go-udiff"
)

// diffContext is the number of unchanged lines around each change, as in
// diff -u.
const diffContext = 3

// Diff writes a unified diff (three lines of context) from a to b, labelled
// with name, that patch -p0 applies. It writes nothing when they are equal.
// The alignment is go-udiff's, a port of the Go tools' O(ND) line diff, so
// time and memory grow with the file and the size of the change, never with
// the product of the two files' lengths.
func Diff(w io.Writer, name string, a, b []byte) error {
	if bytes.Equal(a, b) {
		return nil
	}
	before := string(a)
	edits := udiff.Lines(before, string(b))
	out, err := udiff.ToUnified(name, name, before, edits, diffContext)
	if err != nil {
		return fmt.Errorf("diff of %s: %w", name, err)
	}
	_, err = io.WriteString(w, out)
	return err
}
