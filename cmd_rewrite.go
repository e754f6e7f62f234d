package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
	"ecrbase/settings"
)

// rewriteAction rewrites the Dockerfiles of the paths.
func rewriteAction(c *cli.Context, s *settings.Settings) error {
	opts, files, err := inputs(c, s)
	if err != nil {
		return err
	}
	return rewriteFiles(c, files, opts)
}

// rewriteFiles prints each file rewritten, or writes it (--write), or its
// diff (--diff), or what --check lists; --check's outcome is project's.
func rewriteFiles(c *cli.Context, files []string, opts rewrite.Options) error {
	write, diff, check := c.Bool("write"), c.Bool("diff"), c.Bool("check")
	if !write && !diff && !check && (len(files) > 1 || isDir(c.Args().First())) {
		return usageError("%d Dockerfiles: choose --write, --diff or --check", len(files))
	}
	var chk *project.Check
	if check {
		// --check --strict lists what cannot be resolved with the rest of
		// what stays upstream, rather than failing on it.
		chk = &project.Check{Strict: opts.Strict, PreCommit: os.Getenv("PRE_COMMIT") == "1"}
		opts.Strict = false
	}
	err := eachFile(c, files, project.Config{Options: opts, Rewrite: true}, chk, func(f *project.File) error {
		switch {
		case check || diff:
			if diff {
				return rewrite.Diff(c.App.Writer, f.Name, f.Data, f.Result.Output)
			}
		case write && f.Name != project.Stdin:
			return writeBack(c, f)
		default:
			_, err := c.App.Writer.Write(f.Result.Output)
			return err
		}
		return nil
	})
	if err != nil || chk == nil {
		return err
	}
	return chk.Err()
}

// writeBack writes a rewritten file in place (rewrite --write, mirror
// --rewrite), unless it changed since it was read.
func writeBack(c *cli.Context, f *project.File) error {
	if !f.Result.Changed {
		return nil
	}
	if err := rewrite.WriteFile(f.Name, f.Result.Output, rewrite.WithForce(c.Bool("force")), rewrite.WithOriginal(f.Data)); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "rewrote %s%s\n", f.Name, project.LinkNote(f.Name))
	return nil
}
