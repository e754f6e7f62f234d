package main

import (
	"encoding/json"
	"io"

	"ecrbase/project"
)

// The output helpers every command shares: results go to stdout as text
// (each library writes its own tables) or indented JSON, messages to
// stderr on one line.

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// oneLine is an error as one line of stderr.
func oneLine(err error) string { return project.OneLine(err) }
