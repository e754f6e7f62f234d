package main

import (
	"slices"

	"github.com/urfave/cli/v2"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print the effective configuration and where each value comes from",
		Description: `Settings come from, in order: a flag, its environment variable, the
	repository's .ecrbase.yaml (looked up from the current directory to the git
	root; --config or ECRBASE_CONFIG names another), then the built-in default.
	config takes the same flags as mirror, so it shows what a command line would
	use. The README describes the file field by field.

	Examples:
	   ecrbase config
	   ecrbase config --json
	   ecrbase --config ci/ecrbase.yaml config --platform linux/amd64`,
		Flags:        configFlags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			s, err := current(c)
			if err != nil {
				return settingsExit(err)
			}
			// What mirror would refuse, config refuses too.
			if _, err := mirrorOptions(c); err != nil {
				return err
			}
			if c.Bool("json") {
				return settingsExit(s.WriteJSON(c.App.Writer))
			}
			return settingsExit(s.WriteTable(c.App.Writer))
		},
	}
}

// mirrorSettingFlags are the mirror flags the configuration file can set.
var mirrorSettingFlags = []string{"platform", "registry-mirror", "insecure-registry", "scan-on-push", "tag-mutability", "kms-key", "repo-tag", "lifecycle-policy", "content-source", "no-content-sources"}

// configFlags are --json, the naming flags, and mirror's flags for the
// settings the file holds (the same definitions, so the same environment
// variables).
func configFlags() []cli.Flag {
	flags := []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", EnvVars: envVar("json")}}
	flags = append(flags, namingFlags()...)
	for _, f := range mirrorCommand().Flags {
		if slices.Contains(mirrorSettingFlags, f.Names()[0]) {
			flags = append(flags, f)
		}
	}
	return flags
}
