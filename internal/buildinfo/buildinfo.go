// Package buildinfo is what ecrbase --version reports: the version, the VCS
// revision and commit time, whether the tree was modified, and the Go
// release it was built with.
//
// Release builds set the version, revision and modified flag at link time
// (-X main.version=...), and the command passes them to Read. Without them,
// the build information Go records says what was built: the module version
// (for go install module@version, and since Go 1.24 for a go build in a
// checkout) and the VCS revision of the checkout.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Info is what --version reports; it marshals to --version --json.
type Info struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// Read returns the build's Info: the link-time values given (empty when the
// build set none; modified is "true" or "false"), else what Go recorded in
// the binary. The version is "dev" when neither says.
func Read(version, revision, modified string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return read(version, revision, modified, nil)
	}
	return read(version, revision, modified, bi)
}

// read is Read over the build information bi (nil: none recorded).
func read(version, revision, modified string, bi *debug.BuildInfo) Info {
	v := Info{Version: version, Revision: revision, Go: runtime.Version()}
	v.Modified, _ = strconv.ParseBool(modified)
	if bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if v.Revision == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					v.Revision = s.Value
				case "vcs.time":
					v.Time = s.Value
				case "vcs.modified":
					v.Modified, _ = strconv.ParseBool(s.Value)
				}
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// WriteText writes the Info as --version prints it, a line each: the
// version, the revision (or why there is none), whether the tree was
// modified, the commit time when known, and the Go release.
func (v Info) WriteText(w io.Writer) error {
	rev := v.Revision
	if rev == "" {
		rev = "unknown (built without VCS information)"
	}
	text := fmt.Sprintf("ecrbase %s\nrevision: %s\nmodified: %t\n", v.Version, rev, v.Modified)
	if v.Time != "" {
		text += fmt.Sprintf("commit time: %s\n", v.Time)
	}
	text += fmt.Sprintf("go: %s\n", v.Go)
	_, err := io.WriteString(w, text)
	return err
}
