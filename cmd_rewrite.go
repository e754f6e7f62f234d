package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"ecrbase/internal/registry"
	"ecrbase/project"
	"ecrbase/rewrite"
)

// namingFlags decide what a rewritten Dockerfile says; images, rewrite,
// mirror and build-args share them so that all agree.
func namingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build argument `K=V`, as docker build does", EnvVars: envVar("build-arg")},
		&cli.StringSliceFlag{Name: "prefix", Usage: "ECR repository prefix for a registry, `REGISTRY=PREFIX` (docker.io=docker-hub)", EnvVars: envVar("prefix")},
		&cli.StringSliceFlag{Name: "exclude", Usage: "leave references matching `PATTERN` alone (path.Match on the reference or name)", EnvVars: envVar("exclude")},
		&cli.StringSliceFlag{Name: "only", Usage: "rewrite only references from `REGISTRY`", EnvVars: envVar("only")},
		&cli.StringSliceFlag{Name: "ignore", Usage: "skip Dockerfiles matching the gitignore-style `PATTERN` when searching directories (with ignore: in .ecrbase.yaml)", EnvVars: envVar("ignore")},
		&cli.StringFlag{Name: "account-arg", Usage: "build argument `NAME` holding the AWS account", Value: registry.DefaultAccountArg, EnvVars: envVar("account-arg")},
		&cli.StringFlag{Name: "region-arg", Usage: "build argument `NAME` holding the AWS region", Value: registry.DefaultRegionArg, EnvVars: envVar("region-arg")},
		&cli.StringFlag{Name: "region", Usage: "AWS `REGION`: where mirrors live, and the default written for the region argument (else .ecrbase.yaml, else AWS_REGION or AWS_DEFAULT_REGION)", EnvVars: envVar("region")},
		&cli.StringFlag{Name: "account", Usage: "AWS account `ID` (for --syntax=literal and mirror)", EnvVars: append(envVar("account"), "AWS_ACCOUNT_ID")},
		&cli.BoolFlag{Name: "strict", Usage: "fail on references that cannot be resolved", EnvVars: envVar("strict")},
		&cli.StringFlag{Name: "syntax", Usage: "what to do with # syntax= images: `keep|literal`", Value: "keep", EnvVars: envVar("syntax")},
		&cli.StringFlag{Name: "onbuild", Usage: "what to do with ONBUILD images: `keep|literal` (literal writes the ECR URI with the account, when known)", Value: "keep", EnvVars: envVar("onbuild")},
	}
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "list the images Dockerfiles pull and where they map in ECR",
		ArgsUsage: "[PATH...]",
		Description: `PATH is a Dockerfile, a directory searched recursively, or - for stdin
	(default: the current directory).

	Examples:
	   ecrbase images
	   ecrbase images --json services/api/Dockerfile
	   ecrbase images --build-arg PYTHON_VERSION=3.12 .`,
		Flags:        append([]cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", EnvVars: envVar("json")}}, namingFlags()...),
		OnUsageError: onUsageError,
		Before:       shortLived,
		Action: func(c *cli.Context) error {
			opts, files, err := inputs(c)
			if err != nil {
				return err
			}
			var refs []rewrite.Ref
			failed := eachFile(c, files, project.Config{Options: opts}, func(f *project.File) error {
				refs = append(refs, f.Refs...)
				return nil
			})
			if c.Bool("json") {
				if refs == nil {
					refs = []rewrite.Ref{}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(refs); err != nil {
					return err
				}
			} else {
				printRefs(c.App.Writer, refs)
			}
			return failed
		},
	}
}

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

// rewriteFiles runs the rewrite command's work.
func rewriteFiles(c *cli.Context, files []string, opts rewrite.Options) error {
	write, diff, check := c.Bool("write"), c.Bool("diff"), c.Bool("check")
	if !write && !diff && !check && (len(files) > 1 || isDir(c.Args().First())) {
		return usageError("%d Dockerfiles: choose --write, --diff or --check", len(files))
	}
	strict := opts.Strict
	if check {
		// --check --strict lists what cannot be resolved with the rest of
		// what stays upstream, rather than failing on it.
		opts.Strict = false
	}
	out := newRewriteOutput(c, write, diff, check)
	if err := eachFile(c, files, project.Config{Options: opts, Rewrite: true}, out.file); err != nil {
		return err
	}
	return out.status(strict)
}

// rewriteOutput prints rewritten files as --write, --diff and --check ask
// (mirror --rewrite writes), and counts what --check reports.
type rewriteOutput struct {
	c                  *cli.Context
	write, diff, check bool
	changed, upstream  int
}

func newRewriteOutput(c *cli.Context, write, diff, check bool) *rewriteOutput {
	return &rewriteOutput{c: c, write: write, diff: diff, check: check}
}

func (o *rewriteOutput) file(f *project.File) error {
	res := f.Result
	if res.Changed {
		o.changed++
	}
	switch {
	case o.check || o.diff:
		if o.check {
			o.upstream += listUpstream(o.c.App.Writer, res)
		}
		if o.diff {
			return rewrite.Diff(o.c.App.Writer, f.Name, f.Data, res.Output)
		}
	case o.write && f.Name != project.Stdin:
		if res.Changed {
			if err := rewrite.WriteFile(f.Name, res.Output, rewrite.WithForce(o.c.Bool("force")), rewrite.WithOriginal(f.Data)); err != nil {
				return err
			}
			fmt.Fprintf(o.c.App.ErrWriter, "rewrote %s%s\n", f.Name, project.LinkNote(f.Name))
		}
	default:
		_, err := o.c.App.Writer.Write(res.Output)
		return err
	}
	return nil
}

// status is the exit of --check: 3 when files can still be rewritten, or
// with --strict when pulls stay upstream.
func (o *rewriteOutput) status(strict bool) error {
	var why []string
	if o.check && o.changed > 0 {
		why = append(why, fmt.Sprintf("%d file(s) do not pull from ECR yet: %s", o.changed, fixHint()))
	}
	if o.check && strict && o.upstream > 0 {
		why = append(why, fmt.Sprintf("%d pull(s) stay upstream after the rewrite (--strict)", o.upstream))
	}
	if len(why) > 0 {
		return cli.Exit(strings.Join(why, "; "), exitChanges)
	}
	return nil
}

// listUpstream prints, for --check, each pull of a Dockerfile that does not
// go to ECR, as "file:line image why", and returns how many of them the
// rewrite leaves upstream (kept, unresolved, a # syntax= frontend).
func listUpstream(w io.Writer, res *rewrite.Result) int {
	left := 0
	for _, r := range res.Refs {
		var why string
		switch r.Status {
		case rewrite.StatusRewrite:
			if r.URI == "" {
				continue
			}
			why = "not pulled from ECR yet: " + fixHint()
		case rewrite.StatusKept, rewrite.StatusUnresolved:
			why = r.Note
			left++
		default:
			continue
		}
		fmt.Fprintf(w, "%s:%d %s %s\n", r.File, r.Line, r.Text, why)
	}
	return left
}

// fixHint says how to rewrite the files --check listed. Under pre-commit
// (which sets PRE_COMMIT=1) ecrbase is usually not on PATH: name the hook.
func fixHint() string {
	if os.Getenv("PRE_COMMIT") == "1" {
		return "run pre-commit run ecrbase-rewrite --all-files"
	}
	return "run ecrbase rewrite -w"
}

// shortLived trades memory for speed in the commands that only read and
// rewrite Dockerfiles: they run on every commit, their heap is a few files,
// and with Go's default GC target a thousand-file tree spends a third of
// its time collecting. GOGC, when set, still decides.
func shortLived(*cli.Context) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	return nil
}

func isDir(path string) bool {
	if path == "" {
		return true // the default, "."
	}
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// inputs are the options and the Dockerfiles of a command that reads them.
func inputs(c *cli.Context) (rewrite.Options, []string, error) {
	opts, err := options(c)
	if err != nil {
		return opts, nil, err
	}
	files, err := dockerfiles(c)
	return opts, files, err
}

// dockerfiles expands the command's PATH arguments (default ".").
func dockerfiles(c *cli.Context) ([]string, error) {
	ig, err := ignores(c)
	if err != nil {
		return nil, err
	}
	files, err := project.Discover(c.Args().Slice(), ig)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitError)
	}
	return files, nil
}

// ignores are the patterns of --ignore (relative to the working
// directory) and of ignore: in .ecrbase.yaml (relative to that file).
func ignores(c *cli.Context) (*rewrite.Ignore, error) {
	s, err := current(c)
	if err != nil {
		return nil, settingsExit(err)
	}
	ig, err := s.Ignore()
	return ig, settingsExit(err)
}

// eachFile runs project.Each over files with opts and prints, in file
// order, each file's warnings, then what fn prints for it, then its error
// on one line. A file that fails stops no other; the error returned (exit
// status 1) says how many failed.
func eachFile(c *cli.Context, files []string, cfg project.Config, fn func(*project.File) error) error {
	cfg.Stdin = c.App.Reader
	return filesExit(project.Each(c.Context, files, cfg, reporter(c, fn)))
}

// reporter prints what a file warns of, lets fn print its result, and
// prints the error of a file that failed.
func reporter(c *cli.Context, fn func(*project.File) error) func(*project.File) error {
	return func(f *project.File) error {
		err := f.Err
		if err == nil {
			for _, w := range f.Warnings {
				fmt.Fprintln(c.App.ErrWriter, project.Warning(w))
			}
			err = fn(f)
		}
		if err != nil {
			fmt.Fprintln(c.App.ErrWriter, oneLine(err))
		}
		return err
	}
}

// filesExit gives files that failed exit status 1.
func filesExit(err error) error {
	if _, ok := err.(*project.FailedError); ok {
		return cli.Exit(err.Error(), exitError)
	}
	return err
}

func oneLine(err error) string { return project.OneLine(err) }

// printRefs prints the table; with no row (every file failed, or none
// pulls an image) it prints nothing, not a lone header.
func printRefs(w io.Writer, refs []rewrite.Ref) {
	if len(refs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE:LINE\tKIND\tSTATUS\tTEXT\tREFERENCE\tREPOSITORY")
	for _, r := range refs {
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Line, r.Kind, r.Status, r.Text, dash(r.Reference), dash(r.Repository))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// options are the rewrite options of the command's settings.
func options(c *cli.Context) (rewrite.Options, error) {
	s, err := current(c)
	if err != nil {
		return rewrite.Options{}, settingsExit(err)
	}
	opts, err := s.Rewrite()
	return opts, settingsExit(err)
}
