package main

import (
	"io"

	"ecrbase/internal/buildinfo"
)

// Set at link time by release builds (.goreleaser.yaml):
//
//	-X main.version=1.2.3 -X main.revision=<commit> -X main.modified=false
//
// Without them, buildinfo.Read takes what Go recorded in the binary.
var (
	version  = ""
	revision = ""
	modified = ""
)

// printVersion prints --version, as JSON with --json.
func printVersion(w io.Writer, asJSON bool) error {
	v := buildinfo.Read(version, revision, modified)
	if asJSON {
		return writeJSON(w, v)
	}
	return v.WriteText(w)
}
