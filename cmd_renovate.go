package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/renovate"
	"ecrbase/settings"
)

func renovateAction(c *cli.Context, s *settings.Settings) error {
	format, merge := c.String("format"), c.String("merge")
	opts, files, err := inputs(c, s)
	if err != nil {
		return err
	}
	var found renovate.Found
	failed := eachFile(c, files, project.Config{Options: opts, Rewrite: true}, nil, func(f *project.File) error {
		return found.Add(f.Name, f.Result.Output, f.Refs)
	})
	if failed != nil {
		return failed
	}
	// The platforms mirror copies: --platform, else the file's.
	platforms, _ := s.Platforms()
	cfg := found.Config(opts.Prefixes, platforms)
	if len(found.Hosts()) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "ecrbase: warning: no Dockerfile pulls from ECR once rewritten; there is nothing for Renovate to alias")
	}
	switch {
	case format == "table":
		return cfg.WriteTable(c.App.Writer)
	case merge != "":
		m, err := renovate.MergeFile(merge, cfg)
		if err != nil {
			return cli.Exit("--merge "+err.Error(), exitError)
		}
		if !c.Bool("write") {
			_, err = c.App.Writer.Write(m.Data)
			return err
		}
		if err := m.Write(); err != nil {
			return cli.Exit(err.Error(), exitError)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", merge)
		return nil
	default:
		out, err := renovate.Merge(nil, cfg)
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(out)
		return err
	}
}
