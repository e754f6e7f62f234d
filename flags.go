package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// action is what a command does, with the settings of its run: the flags
// set over the configuration file over the defaults.
type action func(*cli.Context, *settings.Settings) error

// actions are what the commands settings declares do.
var actions = map[string]action{
	"images":      imagesAction,
	"rewrite":     rewriteAction,
	"mirror":      mirrorAction,
	"build-args":  buildArgsAction,
	"replication": replicationAction,
	"config":      configAction,
	"renovate":    renovateAction,
}

// commands are the app's commands, built from settings.Commands.
func commands() []*cli.Command {
	var cmds []*cli.Command
	for _, spec := range settings.Commands() {
		cmds = append(cmds, command(spec))
	}
	return cmds
}

// command builds the command spec declares. Before its action,
// settings.Check refuses bad flag values and conflicting flags with exit
// status 2, before any file is read or any request is sent, and the
// commands that only read and rewrite Dockerfiles run shortLived.
func command(spec settings.Command) *cli.Command {
	name := spec.Name
	cmd := &cli.Command{Name: spec.Name, Usage: spec.Usage, ArgsUsage: spec.ArgsUsage, Description: spec.Help, OnUsageError: onUsageError}
	var names []string
	for _, f := range spec.Flags {
		cmd.Flags = append(cmd.Flags, flag(f))
		names = append(names, f.Name)
	}
	cmd.Before = func(c *cli.Context) error {
		if name == "images" || name == "rewrite" || name == "renovate" {
			shortLived()
		}
		return exitErr(settings.Check(name, names, given(c), os.LookupEnv))
	}
	cmd.Action = func(c *cli.Context) error {
		s, err := current(c)
		if err == nil {
			err = actions[name](c, s)
		}
		return exitErr(err)
	}
	return cmd
}

// flag is the urfave/cli flag of a spec.
func flag(s settings.Spec) cli.Flag {
	var aliases []string
	if s.Alias != "" {
		aliases = []string{s.Alias}
	}
	env := s.EnvVars()
	switch s.Kind {
	case settings.List:
		return &cli.StringSliceFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env}
	case settings.Bool:
		return &cli.BoolFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env, Value: s.Value == "true"}
	case settings.Int:
		n, _ := strconv.Atoi(s.Value)
		return &cli.IntFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env, Value: n}
	case settings.Duration:
		d, _ := time.ParseDuration(s.Value)
		return &cli.DurationFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env, Value: d}
	case settings.Path:
		return &cli.PathFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env, Value: s.Value}
	}
	return &cli.StringFlag{Name: s.Name, Aliases: aliases, Usage: s.Usage, EnvVars: env, Value: s.Value}
}

// given tells the settings package which flags the user set, with their
// values; settings tells the command line from the environment. The
// defaults of flags left alone are the settings package's.
func given(c *cli.Context) settings.Given {
	set := map[string][]string{}
	var flags []cli.Flag
	for _, x := range c.Lineage() {
		if x.Command != nil {
			flags = append(flags, x.Command.Flags...)
		}
	}
	if c.App != nil {
		flags = append(flags, c.App.Flags...)
	}
	for _, f := range flags {
		name := f.Names()[0]
		if _, done := set[name]; done || !c.IsSet(name) {
			continue
		}
		if _, list := f.(*cli.StringSliceFlag); list {
			set[name] = c.StringSlice(name)
		} else {
			set[name] = []string{fmt.Sprint(c.Value(name))} // true, 4, 1m30s
		}
	}
	return settings.Set(set, os.LookupEnv)
}

// current resolves the settings of a command run: the flags set over the
// configuration file over the defaults.
func current(c *cli.Context) (*settings.Settings, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return settings.Read(given(c), wd, os.LookupEnv)
}
