package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

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
		&cli.StringFlag{Name: "account-arg", Usage: "build argument `NAME` holding the AWS account", Value: registry.DefaultAccountArg, EnvVars: envVar("account-arg")},
		&cli.StringFlag{Name: "region-arg", Usage: "build argument `NAME` holding the AWS region", Value: registry.DefaultRegionArg, EnvVars: envVar("region-arg")},
		&cli.StringFlag{Name: "region", Usage: "AWS `REGION`: where mirrors live, and the default written for the region argument (else .ecrbase.yaml, else AWS_REGION or AWS_DEFAULT_REGION)", EnvVars: envVar("region")},
		&cli.StringFlag{Name: "account", Usage: "AWS account `ID` (for --syntax=literal and mirror)", EnvVars: append(envVar("account"), "AWS_ACCOUNT_ID")},
		&cli.BoolFlag{Name: "strict", Usage: "fail on references that cannot be resolved", EnvVars: envVar("strict")},
		&cli.StringFlag{Name: "syntax", Usage: "what to do with `# syntax=` images: keep or literal", Value: "keep", EnvVars: envVar("syntax")},
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
	(atomically, keeping their mode), --diff prints a unified diff, and --check
	lists the files that would change and exits 3: the pre-commit hook.
	--check never reads AWS configuration or touches the network.

	Examples:
	   ecrbase rewrite Dockerfile
	   ecrbase rewrite -w .
	   ecrbase rewrite --check --region us-east-1 services/
	   ecrbase rewrite --diff --prefix docker.io=hub Dockerfile`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Usage: "rewrite files in place", EnvVars: envVar("write")},
			&cli.BoolFlag{Name: "diff", Usage: "print a unified diff", EnvVars: envVar("diff")},
			&cli.BoolFlag{Name: "check", Usage: "list files that would change; exit 3 if any", EnvVars: envVar("check")},
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
	changed := 0
	failed := eachDockerfile(c, files, opts, func(name string, data []byte, res *rewrite.Result) error {
		if res.Changed {
			changed++
		}
		switch {
		case check || diff:
			if check && res.Changed {
				fmt.Fprintln(c.App.Writer, name)
			}
			if diff {
				return rewrite.Diff(c.App.Writer, name, data, res.Output)
			}
		case write && name != stdinName:
			if res.Changed {
				if err := rewrite.WriteFile(name, res.Output); err != nil {
					return &rewrite.Error{File: name, Err: err}
				}
				fmt.Fprintf(c.App.ErrWriter, "rewrote %s\n", name)
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
	if check && changed > 0 {
		return cli.Exit(fmt.Sprintf("%d Dockerfile(s) do not pull from ECR yet: run ecrbase rewrite -w", changed), exitChanges)
	}
	return nil
}

const stdinName = "-"

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
	files, err := rewrite.Discover(paths)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitError)
	}
	if len(files) == 0 {
		return nil, cli.Exit("no Dockerfile found in "+strings.Join(paths, " "), exitError)
	}
	return files, nil
}

// eachDockerfile reads and rewrites the files on every core (the work is
// per file), and, in file order as results come in, prints each file's
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
	jobs := make([]job, len(files))
	for i := range jobs {
		jobs[i].done = make(chan struct{})
	}
	workers := runtime.GOMAXPROCS(0)
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
				if j.data, j.err = readDockerfile(c, files[i]); j.err == nil {
					j.res, j.err = rewrite.File(files[i], j.data, opts)
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
		return cli.Exit(fmt.Sprintf("%d of %d Dockerfile(s) failed", failed, len(files)), exitError)
	}
	return nil
}

func readDockerfile(c *cli.Context, name string) ([]byte, error) {
	var data []byte
	var err error
	if name == stdinName {
		data, err = io.ReadAll(c.App.Reader)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &rewrite.Error{File: name, Err: err}
	}
	return data, nil
}

// oneLine keeps an error message on a single line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func printWarnings(w io.Writer, warnings []*rewrite.Error) {
	for _, e := range warnings {
		fmt.Fprintf(w, "%s:%d: warning: %s\n", e.File, e.Line, oneLine(e.Err))
	}
}

func printRefs(w io.Writer, refs []rewrite.Ref) {
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

// options builds the rewrite options from flags and environment.
func options(c *cli.Context) (rewrite.Options, error) {
	opts := rewrite.Options{
		AccountArg: c.String("account-arg"),
		RegionArg:  c.String("region-arg"),
		Region:     c.String("region"),
		Account:    c.String("account"),
		Exclude:    c.StringSlice("exclude"),
		Only:       c.StringSlice("only"),
		Strict:     c.Bool("strict"),
		Syntax:     rewrite.SyntaxMode(c.String("syntax")),
	}
	var err error
	if opts.BuildArgs, err = pairs(c, "build-arg"); err != nil {
		return opts, err
	}
	if opts.Prefixes, err = pairs(c, "prefix"); err != nil {
		return opts, err
	}
	if err := applyConfig(c, &opts); err != nil {
		return opts, err
	}
	return opts, nil
}

// pairs reads a repeated K=V flag into a map.
func pairs(c *cli.Context, flag string) (map[string]string, error) {
	values := c.StringSlice(flag)
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok && flag == "build-arg" {
			// As docker build does, a bare NAME takes its value from the
			// environment.
			v, ok = os.LookupEnv(k)
		}
		if !ok || k == "" {
			return nil, usageError("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}
