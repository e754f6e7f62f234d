package main

import "github.com/urfave/cli/v2"

// configAction prints the effective settings and their sources.
func configAction(c *cli.Context) error {
	s, err := current(c)
	if err != nil {
		return err
	}
	// What mirror would refuse, config refuses too.
	if _, err := mirrorOptions(c); err != nil {
		return err
	}
	if c.Bool("json") {
		return s.WriteJSON(c.App.Writer)
	}
	return s.WriteTable(c.App.Writer)
}
