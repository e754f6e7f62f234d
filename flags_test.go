package main

import (
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// runCommand runs the command name, its flags and usage checks, with
// action as its Action.
func runCommand(t *testing.T, name string, action cli.ActionFunc, args ...string) error {
	t.Helper()
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	spec, _ := settings.CommandSpec(name)
	cmd := command(spec)
	cmd.Action = action
	app.Commands = []*cli.Command{cmd}
	return app.Run(append([]string{"ecrbase", name}, args...))
}

// TestGiven: the settings package learns which flags were set, their
// values, and whether the command line or which variable set them.
func TestGiven(t *testing.T) {
	isolate(t)
	t.Setenv("ECRBASE_PLATFORM", "linux/amd64, linux/arm64")
	t.Setenv("ECRBASE_STRICT", "true")
	t.Setenv("AWS_ACCOUNT_ID", "123456789012")
	t.Setenv("ECRBASE_ONBUILD", "keep") // replaced by the flag
	var got settings.Given
	err := runCommand(t, "mirror", func(c *cli.Context) error {
		got = given(c)
		return nil
	}, "--onbuild", "literal", "--build-arg", "A=1", "--build-arg", "B=2", "--jobs", "7", "--max-wait", "90s")
	if err != nil {
		t.Fatal(err)
	}
	want := settings.Given{
		"platform":  {Values: []string{"linux/amd64", "linux/arm64"}, Env: "ECRBASE_PLATFORM"},
		"strict":    {Values: []string{"true"}, Env: "ECRBASE_STRICT"},
		"account":   {Values: []string{"123456789012"}, Env: "AWS_ACCOUNT_ID"},
		"onbuild":   {Values: []string{"literal"}},
		"build-arg": {Values: []string{"A=1", "B=2"}},
		"jobs":      {Values: []string{"7"}},
		"max-wait":  {Values: []string{"1m30s"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("given (-want +got):\n%s", diff)
	}
}

// TestSettingsOncePerRun: a command's action gets the settings resolved
// once, when the run starts, so a change to the file during the run is not
// half seen; the next run reads the file again.
func TestSettingsOncePerRun(t *testing.T) {
	isolate(t)
	dir := newRepo(t, map[string]string{".ecrbase.yaml": "version: 1\nregion: eu-west-1\n"})
	saved := actions["config"]
	t.Cleanup(func() { actions["config"] = saved })
	var seen []string
	actions["config"] = func(_ *cli.Context, s *settings.Settings) error {
		r, _ := s.Region()
		seen = append(seen, r)
		writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nregion: us-east-2\n", 0o644)
		return nil
	}
	for range 2 {
		if code, _, errOut := ecrbase(t, "", "config"); code != exitOK {
			t.Fatalf("ecrbase config = %d, %s", code, errOut)
		}
	}
	if want := []string{"eu-west-1", "us-east-2"}; !slices.Equal(seen, want) {
		t.Errorf("the regions two runs saw = %q, want %q", seen, want)
	}
}
