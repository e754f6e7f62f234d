package rewrite

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable writes refs as the table `ecrbase images` prints: one row per
// reference with its file and line, kind, status, text as written,
// resolved reference and ECR repository (a dash when there is none). With
// no reference (every file failed, or none pulls an image) it writes
// nothing, not a lone header.
func WriteTable(w io.Writer, refs []Ref) error {
	if len(refs) == 0 {
		return nil
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE:LINE\tKIND\tSTATUS\tTEXT\tREFERENCE\tREPOSITORY")
	for _, r := range refs {
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Line, r.Kind, r.Status, r.Text, dash(r.Reference), dash(r.Repository))
	}
	tw.Flush()
	_, err := w.Write(b.Bytes())
	return err
}

// dash stands for an empty cell of a table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
