package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/semaphore"

	"ecrbase/internal/registry"
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
			failed := eachDockerfile(c, files, opts, func(name string, data []byte, res *rewrite.Result) error {
				refs = append(refs, res.Refs...)
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

// rewriteFiles runs the rewrite command's work; mirror --rewrite reuses it.
func rewriteFiles(c *cli.Context, files []string, opts rewrite.Options) error {
	write, diff, check := c.Bool("write") || c.Bool("rewrite"), c.Bool("diff"), c.Bool("check")
	if !write && !diff && !check && (len(files) > 1 || isDir(c.Args().First())) {
		return usageError("%d Dockerfiles: choose --write, --diff or --check", len(files))
	}
	strict := opts.Strict
	if check {
		// --check --strict lists what cannot be resolved with the rest of
		// what stays upstream, rather than failing on it.
		opts.Strict = false
	}
	changed, upstream := 0, 0
	failed := eachDockerfile(c, files, opts, func(name string, data []byte, res *rewrite.Result) error {
		if res.Changed {
			changed++
		}
		switch {
		case check || diff:
			if check {
				upstream += listUpstream(c.App.Writer, res)
			}
			if diff {
				return rewrite.Diff(c.App.Writer, name, data, res.Output)
			}
		case write && name != stdinName:
			if res.Changed {
				if err := rewrite.WriteFile(name, res.Output, rewrite.WithForce(c.Bool("force")), rewrite.WithOriginal(data)); err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "rewrote %s%s\n", name, linkNote(name))
			}
		default:
			_, err := c.App.Writer.Write(res.Output)
			return err
		}
		return nil
	})
	if failed != nil {
		return failed
	}
	var why []string
	if check && changed > 0 {
		why = append(why, fmt.Sprintf("%d file(s) do not pull from ECR yet: %s", changed, fixHint()))
	}
	if check && strict && upstream > 0 {
		why = append(why, fmt.Sprintf("%d pull(s) stay upstream after the rewrite (--strict)", upstream))
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

const stdinName = "-"

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
	paths := c.Args().Slice()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	ig, err := ignores(c)
	if err != nil {
		return nil, err
	}
	files, err := rewrite.DiscoverIgnoring(paths, ig)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitError)
	}
	if len(files) == 0 {
		return nil, cli.Exit("no Dockerfile or compose file found in "+strings.Join(paths, " "), exitError)
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

// eachDockerfile reads and rewrites the files on every core (the work is
// per file), compose files first (see planCompose), and, in file order as
// results come in, prints each file's
// warnings and calls fn with its result. A file that fails is reported on
// one line and the others still run; the returned error (exit status 1)
// says how many failed.
func eachDockerfile(c *cli.Context, files []string, opts rewrite.Options, fn func(name string, data []byte, res *rewrite.Result) error) error {
	type job struct {
		data []byte
		res  *rewrite.Result
		err  error
		done chan struct{}
	}
	plan := planCompose(c, files, opts)
	files = plan.files
	jobs := make([]job, len(files))
	for i := range jobs {
		jobs[i].done = make(chan struct{})
	}
	workers := runtime.GOMAXPROCS(0)
	analysing := semaphore.NewWeighted(rewrite.MaxSize)
	// Workers stay at most a few files ahead of the output, so memory does
	// not grow with the size of the tree.
	ahead := make(chan struct{}, 4*workers)
	var next atomic.Int64
	for range min(workers, len(files)) {
		go func() {
			for {
				ahead <- struct{}{}
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				j := &jobs[i]
				if plan.isCompose[files[i]] {
					cj := plan.results[files[i]]
					j.data, j.res, j.err = cj.data, cj.res, cj.err
				} else if j.data, j.err = readDockerfile(c, files[i]); j.err == nil {
					// Analysing a file holds many times its size (BuildKit's
					// parse of it), so large files take turns.
					w := int64(len(j.data))
					analysing.Acquire(context.Background(), w)
					j.res, j.err = rewrite.File(files[i], j.data, plan.options(files[i], opts))
					analysing.Release(w)
				}
				close(j.done)
			}
		}()
	}
	failed := 0
	for i, name := range files {
		j := &jobs[i]
		<-j.done
		err := j.err
		if err == nil {
			printWarnings(c.App.ErrWriter, j.res.Warnings)
			err = fn(name, j.data, j.res)
		}
		if err != nil {
			failed++
			fmt.Fprintln(c.App.ErrWriter, oneLine(err))
		}
		j.data, j.res = nil, nil
		<-ahead
	}
	if failed > 0 {
		return cli.Exit(fmt.Sprintf("%d of %d file(s) failed", failed, len(files)), exitError)
	}
	return nil
}

func readDockerfile(c *cli.Context, name string) ([]byte, error) {
	if name != stdinName {
		return rewrite.ReadFile(name)
	}
	data, err := rewrite.ReadAll(c.App.Reader)
	if err != nil {
		return nil, &rewrite.Error{File: name, Err: err}
	}
	return data, nil
}

// linkNote says which file a symbolic link led the rewrite to.
func linkNote(name string) string {
	if fi, err := os.Lstat(name); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return ""
	}
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return ""
	}
	return " (a symbolic link to " + target + ")"
}

// oneLine keeps an error message on a single line, and cuts any word in it
// longer than maxWord: a message locates a problem, it does not reprint a
// 5,000-character line.
func oneLine(err error) string {
	words := strings.Fields(err.Error())
	for i, w := range words {
		if r := []rune(w); len(r) > maxWord {
			words[i] = string(r[:maxWord]) + "..."
		}
	}
	return strings.Join(words, " ")
}

// maxWord is longer than any real image reference with its digest.
const maxWord = 200

func printWarnings(w io.Writer, warnings []*rewrite.Error) {
	for _, e := range warnings {
		fmt.Fprintf(w, "%s:%d: warning: %s\n", e.File, e.Line, oneLine(e.Err))
	}
}

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
