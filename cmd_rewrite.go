package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"ecrbase/project"
	"ecrbase/rewrite"
)

func rewriteCommand() *cli.Command {
	return &cli.Command{
		Name:      "rewrite",
		Usage:     "rewrite Dockerfiles to pull their images from ECR",
		ArgsUsage: "[PATH...]",
		Description: `With one file, the result goes to stdout. --write changes files in place
	(atomically, keeping mode, owner and group; read-only files need --force,
	hard-linked ones are refused), --diff prints a unified diff, and --check
	lists every pull that does not go to ECR ("file:line image why") and exits
	3 when a file can still be rewritten: the pre-commit hook. With --strict,
	--check also exits 3 for pulls the rewrite leaves upstream (kept,
	unresolved, # syntax=). --check never reads AWS configuration or touches
	the network.

	Examples:
	   ecrbase rewrite Dockerfile
	   ecrbase rewrite -w .
	   ecrbase rewrite --check --region us-east-1 services/
	   ecrbase rewrite --diff --prefix docker.io=hub Dockerfile`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Usage: "rewrite files in place", EnvVars: envVar("write")},
			&cli.BoolFlag{Name: "diff", Usage: "print a unified diff", EnvVars: envVar("diff")},
			&cli.BoolFlag{Name: "check", Usage: "list files that would change; exit 3 if any", EnvVars: envVar("check")},
			&cli.BoolFlag{Name: "force", Usage: "with --write, write read-only files too", EnvVars: envVar("force")},
		}, namingFlags()...),
		OnUsageError: onUsageError,
		Before:       shortLived,
		Action: func(c *cli.Context) error {
			opts, files, err := inputs(c)
			if err != nil {
				return err
			}
			return rewriteFiles(c, files, opts)
		},
	}
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
	err := eachFileChecked(c, files, project.Config{Options: opts, Rewrite: true}, chk, func(f *project.File) error {
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
	if err := chk.Err(); err != nil {
		return cli.Exit(err.Error(), exitChanges)
	}
	return nil
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
