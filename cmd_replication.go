package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/settings"
)

// replicationAction sets the registry's replication and, with --backfill,
// copies the images already mirrored into each destination.
func replicationAction(c *cli.Context, s *settings.Settings) error {
	dests, err := s.Destinations()
	if err != nil {
		return err
	}
	backfill := c.Bool("backfill")
	if !backfill && (c.Args().Present() || len(c.StringSlice("image")) > 0 || c.Path("images-from") != "") {
		return usageError("paths, --image and --images-from name images to copy: they need --backfill")
	}
	opts, err := s.Rewrite()
	if err != nil {
		return err
	}
	found := &project.Images{Prefixes: opts.Prefixes}
	var failedFiles error
	if backfill {
		if failedFiles, err = gatherImages(c, s, opts, found); err != nil {
			return err
		}
	}
	mopts, err := mirrorOptions(c, s)
	if err != nil {
		return err
	}
	json := c.Bool("json")
	out, err := project.Replicate(c.Context, found.List, opts.Prefixes, dests, backfill, func(r *project.Replication) {
		switch {
		case json:
		case len(r.Backfill) == 0:
			fmt.Fprintln(c.App.Writer, r.Replication)
		default:
			b := r.Backfill[len(r.Backfill)-1]
			fmt.Fprintf(c.App.Writer, "backfill into %s:\n", b.Destination)
			b.Report.WriteTable(c.App.Writer)
		}
	}, mopts...)
	var bf *project.BackfillError
	if err != nil && !errors.As(err, &bf) {
		return err
	}
	if json {
		if err := writeJSON(c.App.Writer, out); err != nil {
			return err
		}
	}
	if bf != nil {
		return cli.Exit(bf.Error(), exitError)
	}
	return failedFiles
}
