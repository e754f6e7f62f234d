package main

import (
	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
)

func buildArgsCommand() *cli.Command {
	return &cli.Command{
		Name:      "build-args",
		Usage:     "print the build arguments a rewritten Dockerfile needs",
		ArgsUsage: "[PATH...]",
		Description: `Resolves the account and region as mirror does and prints them as
	--build-arg flags for docker build. When a Dockerfile keeps its # syntax=
	image as written, BUILDKIT_SYNTAX points BuildKit at the mirrored copy.

	Examples:
	   docker build $(ecrbase build-args) -t app .
	   ecrbase build-args --format env >> build.env
	   ecrbase build-args --format json`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "print the arguments as `docker|env|json`", Value: "docker", EnvVars: envVar("format")},
		}, namingFlags()...),
		OnUsageError: onUsageError,
		Action:       buildArgsAction,
	}
}

func buildArgsAction(c *cli.Context) error {
	format := c.String("format")
	opts, err := options(c)
	if err != nil {
		return err
	}
	target, err := ecr.ResolveTarget(c.Context, ecr.WithAccount(c.String("account")), ecr.WithRegion(opts.Region))
	if err != nil {
		return awsExit(err, "resolving the ECR account and region: ")
	}
	ig, err := ignores(c)
	if err != nil {
		return err
	}
	found := &project.BuildArgs{Host: target.Registry}
	if err := filesExit(found.Gather(c.Context, c.Args().Slice(), ig, project.Config{Options: opts, Stdin: c.App.Reader}, report(c))); err != nil {
		return err
	}
	// The build arguments images were resolved with (--build-arg and the
	// file's build_args) go to docker build too, so it pulls what was
	// mirrored; one that names an image names its ECR copy instead.
	return project.WriteBuildArgs(c.App.Writer, format, found.List(opts, target.Account, target.Region))
}
