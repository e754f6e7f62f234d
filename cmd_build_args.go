package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
	"ecrbase/settings"
)

func buildArgsAction(c *cli.Context, s *settings.Settings) error {
	format := c.String("format")
	opts, err := s.Rewrite()
	if err != nil {
		return err
	}
	target, err := ecr.ResolveTarget(c.Context, ecr.WithAccount(c.String("account")), ecr.WithRegion(opts.Region))
	if err != nil {
		return fmt.Errorf("resolving the ECR account and region: %w", err)
	}
	ig, err := s.Ignore()
	if err != nil {
		return err
	}
	found := &project.BuildArgs{Host: target.Registry}
	if err := found.Gather(c.Context, c.Args().Slice(), ig, project.Config{Options: opts, Stdin: c.App.Reader}, report(c)); err != nil {
		return err
	}
	// The build arguments images were resolved with (--build-arg and the
	// file's build_args) go to docker build too, so it pulls what was
	// mirrored; one that names an image names its ECR copy instead.
	return project.WriteBuildArgs(c.App.Writer, format, found.List(opts, target.Account, target.Region))
}
