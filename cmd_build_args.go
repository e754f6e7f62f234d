package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
)

func buildArgsAction(c *cli.Context) error {
	format := c.String("format")
	opts, err := options(c)
	if err != nil {
		return err
	}
	target, err := ecr.ResolveTarget(c.Context, ecr.WithAccount(c.String("account")), ecr.WithRegion(opts.Region))
	if err != nil {
		return fmt.Errorf("resolving the ECR account and region: %w", err)
	}
	ig, err := ignores(c)
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
	return printBuildArgs(c.App.Writer, format, found.List(opts, target.Account, target.Region))
}

func printBuildArgs(w io.Writer, format string, args [][2]string) error {
	switch format {
	case "json":
		m := map[string]string{}
		for _, kv := range args {
			m[kv[0]] = kv[1]
		}
		return writeJSON(w, m)
	case "env":
		for _, kv := range args {
			fmt.Fprintf(w, "%s=%s\n", kv[0], kv[1])
		}
	default:
		parts := make([]string, len(args))
		for i, kv := range args {
			parts[i] = "--build-arg " + kv[0] + "=" + kv[1]
		}
		fmt.Fprintln(w, strings.Join(parts, " "))
	}
	return nil
}
