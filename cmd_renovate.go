package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/renovate"
)

func renovateCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "format", Usage: "print the configuration as `json|table`", Value: "json", EnvVars: envVar("format")},
		&cli.StringFlag{Name: "merge", Usage: "merge into the Renovate configuration in `FILE` (renovate.json) and print the result", EnvVars: envVar("merge")},
		&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Usage: "with --merge, write the result back to the file", EnvVars: envVar("write")},
	}
	for _, f := range mirrorCommand().Flags {
		if f.Names()[0] == "platform" {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:      "renovate",
		Usage:     "print the Renovate registryAliases that match the rewritten Dockerfiles",
		ArgsUsage: "[PATH...]",
		Description: `Renovate substitutes the defaults of the ARGs a Dockerfile declares, then
	looks the image up through registryAliases. renovate prints one alias per
	ECR host the Dockerfiles name once rewritten (each region default and
	account ARG name in use) and per repository prefix (the built-in ones,
	--prefix and .ecrbase.yaml's), so Renovate updates tags in ECR references
	as it would upstream. With platforms set (--platform or .ecrbase.yaml),
	the digests in ECR are not upstream's, and a package rule turns off
	Renovate's digest updates for the mirrored images.

	Examples:
	   ecrbase renovate > renovate.json
	   ecrbase renovate --merge renovate.json -w
	   ecrbase renovate --format table services/`,
		Flags:        append(flags, namingFlags()...),
		OnUsageError: onUsageError,
		Before:       shortLived,
		Action:       renovateAction,
	}
}

func renovateAction(c *cli.Context) error {
	format, merge := c.String("format"), c.String("merge")
	opts, files, err := inputs(c)
	if err != nil {
		return err
	}
	var found renovate.Found
	failed := eachFile(c, files, project.Config{Options: opts, Rewrite: true}, func(f *project.File) error {
		return found.Add(f.Name, f.Result.Output, f.Refs)
	})
	if failed != nil {
		return failed
	}
	s, err := current(c)
	if err != nil {
		return settingsExit(err)
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
