package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
	"ecrbase/settings"
)

// The helpers of the commands that read Dockerfiles: their inputs, and the
// printing of each file's warnings and errors.

// shortLived trades memory for speed in the commands that only read and
// rewrite Dockerfiles: they run on every commit, their heap is a few files,
// and with Go's default GC target a thousand-file tree spends a third of
// its time collecting. A soft memory limit takes back the headroom on a
// large file, where the heap would otherwise grow to five times what is
// live. GOGC and GOMEMLIMIT, when set, still decide.
func shortLived() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(shortLivedMemory)
	}
}

// shortLivedMemory is far above what a tree of real Dockerfiles needs, and
// a few times a file near rewrite.MaxSize.
const shortLivedMemory = 192 << 20

func isDir(path string) bool {
	if path == "" {
		return true // the default, "."
	}
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// inputs are the rewrite options and the Dockerfiles of a command that
// reads them: its PATH arguments (default ".") expanded, without what
// --ignore and ignore: in .ecrbase.yaml leave out.
func inputs(c *cli.Context, s *settings.Settings) (rewrite.Options, []string, error) {
	opts, err := s.Rewrite()
	if err != nil {
		return opts, nil, err
	}
	ig, err := s.Ignore()
	if err != nil {
		return opts, nil, err
	}
	files, err := project.Discover(c.Args().Slice(), ig)
	return opts, files, err
}

// eachFile runs project.Each over files with cfg and prints, in file
// order, each file's warnings, then with chk what rewrite --check lists
// for it, then what fn prints for it, then its error on one line. A file
// that fails stops no other; the error returned says how many failed.
func eachFile(c *cli.Context, files []string, cfg project.Config, chk *project.Check, fn func(*project.File) error) error {
	cfg.Stdin = c.App.Reader
	return project.Each(c.Context, files, cfg, reporter(c, chk, fn))
}

// reporter prints what a file warns of (and with chk what the check lists),
// lets fn print its result, and prints the error of a file that failed.
func reporter(c *cli.Context, chk *project.Check, fn func(*project.File) error) func(*project.File) error {
	return func(f *project.File) error {
		if f.Err != nil {
			return report(c)(f, f.Err)
		}
		lines := chk.File(f)
		printWarnings(c, f)
		for _, l := range lines {
			fmt.Fprintln(c.App.Writer, l)
		}
		err := fn(f)
		if err != nil {
			fmt.Fprintln(c.App.ErrWriter, oneLine(err))
		}
		return err
	}
}

// report prints a file's warnings and its error, for a library's gathering.
func report(c *cli.Context) project.Report {
	return func(f *project.File, err error) error {
		if f.Err == nil {
			printWarnings(c, f)
		}
		if err != nil {
			fmt.Fprintln(c.App.ErrWriter, oneLine(err))
		}
		return err
	}
}

func printWarnings(c *cli.Context, f *project.File) {
	for _, w := range f.Warnings {
		fmt.Fprintln(c.App.ErrWriter, project.Warning(w))
	}
}
