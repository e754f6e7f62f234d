package buildinfo

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkout is what go build records in a modified checkout.
var checkout = &debug.BuildInfo{
	Main: debug.Module{Path: "ecrbase", Version: "v0.0.0-20260101000000-0123456789ab+dirty"},
	Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-01T00:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	},
}

func TestRead(t *testing.T) {
	t.Parallel()
	goVersion := runtime.Version()
	for _, tc := range []struct {
		name                        string
		version, revision, modified string
		bi                          *debug.BuildInfo
		want                        Info
	}{
		{"link-time values win", "1.2.3", "abc123", "false", checkout,
			Info{Version: "1.2.3", Revision: "abc123", Go: goVersion}},
		{"go build in a checkout", "", "", "", checkout,
			Info{Version: checkout.Main.Version, Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-01-01T00:00:00Z", Modified: true, Go: goVersion}},
		{"a version alone keeps the recorded revision", "1.2.3", "", "", checkout,
			Info{Version: "1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-01-01T00:00:00Z", Modified: true, Go: goVersion}},
		{"no VCS information", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			Info{Version: "dev", Go: goVersion}},
		{"no build information", "", "", "true", nil,
			Info{Version: "dev", Modified: true, Go: goVersion}},
	} {
		if diff := cmp.Diff(tc.want, read(tc.version, tc.revision, tc.modified, tc.bi)); diff != "" {
			t.Errorf("%s: read (-want +got):\n%s", tc.name, diff)
		}
	}
	// A test binary records no VCS information: dev, unless linked with values.
	if got := Read("1.2.3", "abc", "false"); got.Version != "1.2.3" || got.Revision != "abc" || got.Go != goVersion {
		t.Errorf("Read(1.2.3, abc, false) = %+v", got)
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "1.2.3", Revision: "abc123", Go: "go1.26.0"},
			"ecrbase 1.2.3\nrevision: abc123\nmodified: false\ngo: go1.26.0\n"},
		{Info{Version: "v0.0.0-x+dirty", Revision: "0123", Time: "2026-01-01T00:00:00Z", Modified: true, Go: "go1.26.0"},
			"ecrbase v0.0.0-x+dirty\nrevision: 0123\nmodified: true\ncommit time: 2026-01-01T00:00:00Z\ngo: go1.26.0\n"},
		{Info{Version: "dev", Go: "go1.26.0"},
			"ecrbase dev\nrevision: unknown (built without VCS information)\nmodified: false\ngo: go1.26.0\n"},
	} {
		var b strings.Builder
		if err := tc.info.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("WriteText(%+v) (-want +got):\n%s", tc.info, diff)
		}
	}
}

// TestJSON: the field names and order of --version --json; the commit time
// only when known.
func TestJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "1.2.3", Revision: "abc123", Go: "go1.26.0"},
			`{"version":"1.2.3","revision":"abc123","modified":false,"go":"go1.26.0"}`},
		{Info{Version: "dev", Revision: "0123", Time: "2026-01-01T00:00:00Z", Modified: true, Go: "go1.26.0"},
			`{"version":"dev","revision":"0123","time":"2026-01-01T00:00:00Z","modified":true,"go":"go1.26.0"}`},
	} {
		got, err := json.Marshal(tc.info)
		if err != nil || string(got) != tc.want {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tc.info, got, err, tc.want)
		}
	}
}
