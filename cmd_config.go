package main

import (
	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// configAction prints the effective settings and their sources.
func configAction(c *cli.Context, s *settings.Settings) error {
	// What mirror would refuse, config refuses too.
	if _, err := s.ECR(); err != nil {
		return err
	}
	if c.Bool("json") {
		return s.WriteJSON(c.App.Writer)
	}
	return s.WriteTable(c.App.Writer)
}
