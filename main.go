// Command ecrbase mirrors the base images a Dockerfile pulls into Amazon ECR
// and rewrites the Dockerfile to pull them from there, so builds stop
// hitting Docker Hub's pull rate limit.
//
// This package is the command line only. Each action resolves its settings,
// calls one library function and prints:
//
//	main.go            the app, the exit status of each kind of error,
//	                   unknown commands
//	cmd_<command>.go   one command each: its action (images, rewrite, mirror,
//	                   build_args, replication, config, renovate); the text
//	                   a command prints is written by the library that owns
//	                   the type (ecr.Report.WriteTable, rewrite.WriteTable,
//	                   settings.Settings.WriteTable, ...)
//	flags.go           the urfave/cli adapter: the commands and flags that
//	                   settings.Commands declares, settings.Check before
//	                   each action, the flags set (settings.Set), the
//	                   settings each action gets
//	files.go           the inputs of the commands that read Dockerfiles;
//	                   each file's warnings and errors
//	output.go          JSON, one-line errors
//	version.go         --version: the link-time values, read and printed by
//	                   internal/buildinfo
//
// The work is done in:
//
//	settings/  the commands and their flags, .ecrbase.yaml, every flag and
//	           file rule, flag > env > file > default with sources, the
//	           options of rewrite and ecr
//	rewrite/   a Dockerfile: Analyze what it pulls, rewrite it to ECR
//	compose/   a compose file: the same for its image: values
//	project/   an application's files: discovery, the ordered concurrent
//	           analysis and rewrite of each, compose planning, and what the
//	           commands gather and conclude (images, build arguments,
//	           catalogues, rewrite --check, replication)
//	ecr/       the mirror: copy images into ECR digest-exact
//	renovate/  Renovate's registryAliases for the rewritten files
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
	"ecrbase/settings"
)

// Exit statuses, documented in the README.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitChanges = 3
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp()
	app.Reader, app.Writer, app.ErrWriter = stdin, stdout, stderr
	msg, status := exit(app.Run(args))
	if msg != "" {
		fmt.Fprintln(stderr, "ecrbase: "+msg)
	}
	return status
}

// exitErr is err as urfave/cli's exit error, with the line and status of
// exit.
func exitErr(err error) error {
	if err == nil {
		return nil
	}
	return cli.Exit(exit(err))
}

// exit is the line that says why a run ended with err, and its exit
// status. The errors of the libraries carry their kind: what the user
// got wrong on the command line exits 2, rewrite --check's findings 3, and
// the two problems every first run meets, no region and no credentials,
// get one line saying what to do instead of the SDK's chain of messages.
func exit(err error) (msg string, status int) {
	var (
		ec     cli.ExitCoder
		input  *project.InputError
		check  *project.CheckError
		failed *project.FailedError
	)
	switch {
	case err == nil:
		return "", exitOK
	case errors.As(err, &ec):
		return ec.Error(), ec.ExitCode()
	case errors.Is(err, settings.ErrUsage), errors.As(err, &input):
		return err.Error(), exitUsage
	case errors.As(err, &check):
		return err.Error(), exitChanges
	case errors.As(err, &failed), errors.Is(err, project.ErrNoFiles):
		return err.Error(), exitError
	case errors.Is(err, ecr.ErrNoRegion):
		return "no AWS region: pass --region, set AWS_REGION, or put region in .ecrbase.yaml", exitError
	case errors.Is(err, ecr.ErrNoCredentials):
		return "no AWS credentials: set AWS_PROFILE (after aws sso login if it uses SSO) or " +
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is available (CodeBuild, EC2, ECS)", exitError
	}
	return oneLine(err), exitError
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "ecrbase",
		Usage: "mirror a Dockerfile's base images into Amazon ECR and pull them from there",
		Description: `Docker Hub limits pulls per IP, and CI systems such as CodeBuild share IPs.
ecrbase finds every image a Dockerfile pulls, copies each one into your ECR
registry (digest-exact, multi-arch, HEAD requests first so an up-to-date
image costs no pull), and rewrites the Dockerfile to pull from ECR through
ARG AWS_ACCOUNT_ID and ARG AWS_REGION.

Exit status: 0 ok, 1 error, 2 usage, 3 rewrite --check found files to change.`,
		Flags: []cli.Flag{
			flag(settings.Global()[0]),
			&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version, VCS revision and whether the tree was modified"},
			&cli.BoolFlag{Name: "json", Usage: "with --version, print it as JSON"},
		},
		Before: func(c *cli.Context) error {
			if c.Bool("json") && !c.Bool("version") {
				return usageError("--json before the command goes with --version; put it after the command (ecrbase images --json)")
			}
			return nil
		},
		Commands:        commands(),
		HideHelpCommand: true,
		Action:          appAction,
		// run prints errors and picks the exit status; the library must
		// never call os.Exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
	}
}

// appAction runs when no command matched: --version prints the version;
// with no arguments it prints the help, `help [COMMAND]` prints the help asked for, and anything else is a
// mistyped command, a usage error (exit 2), so that a typo in a pre-commit
// entry does not read as "files need rewriting" (exit 3).
func appAction(c *cli.Context) error {
	if c.Bool("version") {
		return printVersion(c.App.Writer, c.Bool("json"))
	}
	args := c.Args().Slice()
	if len(args) == 0 || len(args) == 1 && args[0] == "help" {
		return cli.ShowAppHelp(c)
	}
	name := args[0]
	if name == "help" {
		name = args[1]
		if c.App.Command(name) != nil {
			return cli.ShowCommandHelp(c, name)
		}
	}
	msg := fmt.Sprintf("no command %q; the commands are %s (ecrbase --help)", name, commandNames(c.App))
	if cli.SuggestCommand == nil {
		return cli.Exit(msg, exitUsage)
	}
	if s := cli.SuggestCommand(c.App.Commands, name); s != "" {
		msg += ". " + s
	}
	return cli.Exit(msg, exitUsage)
}

func commandNames(app *cli.App) string {
	var names []string
	for _, cmd := range app.Commands {
		names = append(names, cmd.Name)
	}
	return strings.Join(names, ", ")
}

// usageError marks a bad command line.
func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// onUsageError makes flag errors of a command exit with the usage status.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return cli.Exit(flagSpelling.ReplaceAllString(err.Error(), "$1--$2"), exitUsage)
}

// flagSpelling finds the one-dash flag names of Go's flag package errors
// ("invalid boolean value \"x\" for -json") to spell them as users do.
var flagSpelling = regexp.MustCompile(`(for (?:flag )?|not defined: )-([a-z])`)
