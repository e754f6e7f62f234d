package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// configAction prints the effective settings and their sources.
func configAction(c *cli.Context) error {
	s, err := current(c)
	if err != nil {
		return err
	}
	rows, err := s.Rows()
	if err != nil {
		return err
	}
	// What mirror would refuse, config refuses too.
	if _, err := mirrorOptions(c); err != nil {
		return err
	}
	out := make([]setting, len(rows))
	for i, r := range rows {
		out[i] = setting{Name: r.Name, Key: r.Key, Value: r.Value, source: r.Source}
	}
	if c.Bool("json") {
		doc := struct {
			File     *string   `json:"file"`
			Settings []setting `json:"settings"`
		}{Settings: out}
		if s.File.Path != "" {
			doc.File = &s.File.Path
		}
		return writeJSON(c.App.Writer, doc)
	}
	printSettings(c.App.Writer, s, out)
	return nil
}

// setting is a row of `ecrbase config`, as printed: one effective value
// and where it came from.
type setting struct {
	Name  string `json:"name"`
	Key   string `json:"key,omitempty"`
	Value any    `json:"value"`
	source
}

type source = settings.Source

func printSettings(w io.Writer, s *settings.Settings, rows []setting) {
	cfg := s.File
	switch src, ok := s.Given().Source("config"); {
	case cfg.Path == "":
		fmt.Fprintln(w, "config file: none (no .ecrbase.yaml from here up to the repository root)")
	case ok:
		fmt.Fprintf(w, "config file: %s (%s)\n", cfg.Path, src)
	default:
		fmt.Fprintf(w, "config file: %s\n", cfg.Path)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, r := range rows {
		name := r.Name
		if r.Key != "" {
			name += "[" + r.Key + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, settingText(r.Value), r.source)
	}
	tw.Flush()
}

func settingText(v any) string {
	switch v := v.(type) {
	case []string:
		return dash(strings.Join(v, ","))
	case map[string]string:
		return "-"
	case string:
		return dash(v)
	}
	return fmt.Sprint(v)
}
