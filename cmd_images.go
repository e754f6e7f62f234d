package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
)

// imagesAction lists the images of the Dockerfiles, as a table or JSON.
func imagesAction(c *cli.Context) error {
	opts, files, err := inputs(c)
	if err != nil {
		return err
	}
	var refs []rewrite.Ref
	failed := eachFile(c, files, project.Config{Options: opts}, func(f *project.File) error {
		refs = append(refs, f.Refs...)
		return nil
	})
	if c.Bool("json") {
		if refs == nil {
			refs = []rewrite.Ref{}
		}
		if err := writeJSON(c.App.Writer, refs); err != nil {
			return err
		}
	} else {
		printRefs(c.App.Writer, refs)
	}
	return failed
}

// printRefs prints the table; with no row (every file failed, or none
// pulls an image) it prints nothing, not a lone header.
func printRefs(w io.Writer, refs []rewrite.Ref) {
	if len(refs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE:LINE\tKIND\tSTATUS\tTEXT\tREFERENCE\tREPOSITORY")
	for _, r := range refs {
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Line, r.Kind, r.Status, r.Text, dash(r.Reference), dash(r.Repository))
	}
	tw.Flush()
}
