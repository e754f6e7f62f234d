package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Set at link time by release builds (.goreleaser.yaml):
//
//	-X main.version=1.2.3 -X main.revision=<commit> -X main.modified=false
//
// Without them, the build information Go records says what was built: the
// module version (for go install module@version, and since Go 1.24 for a
// go build in a checkout) and the VCS revision of the checkout.
var (
	version  = ""
	revision = ""
	modified = ""
)

// buildVersion is what --version reports.
type buildVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// currentVersion reads the link-time values, else the build information.
func currentVersion() buildVersion {
	v := buildVersion{Version: version, Revision: revision, Go: runtime.Version()}
	v.Modified, _ = strconv.ParseBool(modified)
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		if v.Revision == "" {
			for _, s := range info.Settings {
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

func printVersion(w io.Writer, asJSON bool) error {
	v := currentVersion()
	if asJSON {
		return writeJSON(w, v)
	}
	rev := v.Revision
	if rev == "" {
		rev = "unknown (built without VCS information)"
	}
	fmt.Fprintf(w, "ecrbase %s\nrevision: %s\nmodified: %t\n", v.Version, rev, v.Modified)
	if v.Time != "" {
		fmt.Fprintf(w, "commit time: %s\n", v.Time)
	}
	fmt.Fprintf(w, "go: %s\n", v.Go)
	return nil
}
