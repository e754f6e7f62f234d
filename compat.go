package main

import (
	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// The replication and renovate commands read two settings of the file
// through these names; they go once those commands call the settings
// package themselves.

// fileConfig is the part of the configuration file replication and
// renovate read.
type fileConfig struct {
	Platforms, ReplicationTo value[[]string]
	s                        *settings.Settings
}

// value is a setting of the file and its line, as settings.Value.
type value[T any] settings.Value[T]

func (v value[T]) set() bool { return settings.Value[T](v).Set() }

// loadConfig returns the command's configuration file.
func loadConfig(c *cli.Context) (*fileConfig, error) {
	s, err := current(c)
	if err != nil {
		return nil, settingsExit(err)
	}
	return &fileConfig{
		Platforms:     value[[]string](s.File.Platforms),
		ReplicationTo: value[[]string](s.File.ReplicationTo),
		s:             s,
	}, nil
}

// resolver resolves a list setting of the file against its flag.
type resolver struct {
	c   *cli.Context
	cfg *fileConfig
}

func (r resolver) list(flag string, v value[[]string]) ([]string, settings.Source) {
	return r.cfg.s.List(flag, settings.Value[[]string](v))
}
