package main

import (
	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
	"ecrbase/settings"
)

// imagesAction lists the images of the Dockerfiles, as a table or JSON.
func imagesAction(c *cli.Context, s *settings.Settings) error {
	opts, files, err := inputs(c, s)
	if err != nil {
		return err
	}
	var refs []rewrite.Ref
	failed := eachFile(c, files, project.Config{Options: opts}, nil, func(f *project.File) error {
		refs = append(refs, f.Refs...)
		return nil
	})
	if c.Bool("json") {
		if refs == nil {
			refs = []rewrite.Ref{}
		}
		err = writeJSON(c.App.Writer, refs)
	} else {
		err = rewrite.WriteTable(c.App.Writer, refs)
	}
	if err != nil {
		return err
	}
	return failed
}
