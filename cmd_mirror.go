package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
	"ecrbase/rewrite"
	"ecrbase/settings"
)

// mirrorAction discovers the images, mirrors them, reports, and with
// --rewrite rewrites the Dockerfiles once every image is in ECR.
func mirrorAction(c *cli.Context, s *settings.Settings) error {
	opts, err := s.Rewrite()
	if err != nil {
		return err
	}
	mopts, err := mirrorOptions(c, s)
	if err != nil {
		return err
	}
	// With --rewrite, the analyses of discovery are kept and rewritten
	// once the mirror has the digests: no Dockerfile is parsed twice.
	found := &project.Images{Prefixes: opts.Prefixes, Keep: c.Bool("rewrite") && !c.Bool("dry-run")}
	failedFiles, err := gatherImages(c, s, opts, found)
	if err != nil {
		return err
	}
	report, mirrorErr := ecr.Mirror(c.Context, found.List, mopts...)
	if report != nil {
		if err := writeReport(c, report); err != nil {
			return err
		}
	}
	if mirrorErr != nil {
		return mirrorErr
	}
	if report.DryRun && report.Failed > 0 {
		return fmt.Errorf("the plan has %d image(s) that would fail", report.Failed)
	}
	if !found.Keep || len(found.Good) == 0 {
		return failedFiles
	}
	// A Dockerfile that could not be read or parsed was reported and
	// stops no other: the others are rewritten, and the status is still 1.
	plan := project.MirrorPlan(report, opts.Region, c.Bool("pin"))
	write := reporter(c, nil, func(f *project.File) error {
		if f.Name == project.Stdin {
			_, err := c.App.Writer.Write(f.Result.Output)
			return err
		}
		return writeBack(c, f)
	})
	if err := project.Rewrite(c.Context, found.Good, project.Config{Options: opts}, write, plan...); err != nil {
		return err
	}
	return failedFiles
}

// gatherImages adds to found the images of the paths, --image and
// --images-from (project.Images.Gather): failedFiles is a
// *project.FailedError when Dockerfiles failed, reported and stopping no
// other, and err what stops the command.
func gatherImages(c *cli.Context, s *settings.Settings, opts rewrite.Options, found *project.Images) (failedFiles, err error) {
	src := project.Sources{
		Paths:   c.Args().Slice(),
		Ignore:  s.Ignore,
		Images:  c.StringSlice("image"),
		Catalog: c.Path("images-from"),
	}
	cfg := project.Config{Options: opts, Stdin: c.App.Reader}
	return found.Gather(c.Context, src, cfg, report(c))
}

// mirrorOptions are the ecr options of the command's settings, checked
// before any Dockerfile is read or any repository created.
func mirrorOptions(c *cli.Context, s *settings.Settings) ([]ecr.Option, error) {
	o, err := s.ECR()
	if err != nil {
		return nil, err
	}
	return append(o, ecr.WithProgress(c.App.ErrWriter)), nil
}

// writeReport prints the mirror's report: as JSON with --json, else as a
// table.
func writeReport(c *cli.Context, rep *ecr.Report) error {
	if c.Bool("json") {
		return writeJSON(c.App.Writer, rep)
	}
	return rep.WriteTable(c.App.Writer)
}
