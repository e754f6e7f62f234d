package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// checkUsage is every command's Before: settings.Check refuses bad flag
// values and conflicting flags with exit status 2, before any file is read
// or any request is sent.
func checkUsage(c *cli.Context) error {
	if c.Command == nil {
		return nil
	}
	names := make([]string, len(c.Command.Flags))
	for i, f := range c.Command.Flags {
		names[i] = f.Names()[0]
	}
	return settings.Check(c.Command.Name, names, given(c), os.LookupEnv)
}

// withUsageChecks makes checkUsage run before every command's own Before.
func withUsageChecks(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		own := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if err := checkUsage(c); err != nil {
				return err
			}
			if own != nil {
				return own(c)
			}
			return nil
		}
	}
	return cmds
}
