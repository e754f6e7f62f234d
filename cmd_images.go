package main

import (
	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
)

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "list the images Dockerfiles pull and where they map in ECR",
		ArgsUsage: "[PATH...]",
		Description: `PATH is a Dockerfile, a directory searched recursively, or - for stdin
	(default: the current directory).

	Examples:
	   ecrbase images
	   ecrbase images --json services/api/Dockerfile
	   ecrbase images --build-arg PYTHON_VERSION=3.12 .`,
		Flags:        append([]cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", EnvVars: envVar("json")}}, namingFlags()...),
		OnUsageError: onUsageError,
		Before:       shortLived,
		Action: func(c *cli.Context) error {
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
			} else if err := rewrite.WriteTable(c.App.Writer, refs); err != nil {
				return err
			}
			return failed
		},
	}
}
