package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
)

func replicationCommand() *cli.Command {
	return &cli.Command{
		Name:      "replication",
		Usage:     "make ECR replicate the mirrored repositories to other regions or accounts",
		ArgsUsage: "[PATH...]",
		Description: `Sets the registry's replication configuration (PutReplicationConfiguration)
	so ECR itself copies every push under the prefixes ecrbase writes
	(docker-hub/, quay/, ... and any --prefix or .ecrbase.yaml prefix) to each
	--to destination. Existing rules are read first (DescribeRegistry) and
	kept; a destination already covered is left alone, so running it again
	changes nothing.

	ECR replicates only new pushes. --backfill copies the images already
	mirrored (those of the Dockerfiles under PATH, --image and --images-from)
	from this registry into each destination, registry to registry,
	digest-exact, creating repositories as mirror does.

	Examples:
	   ecrbase replication --to eu-west-1 --to us-west-2:210987654321
	   ecrbase replication --to eu-west-1 --backfill --images-from base-images.txt
	   ecrbase replication --to eu-west-1 --dry-run --json`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "to", Usage: "replicate to `REGION[:ACCOUNT]` (repeatable)", EnvVars: envVar("replicate-to")},
			&cli.BoolFlag{Name: "backfill", Usage: "also copy the images already mirrored into each destination", EnvVars: envVar("backfill")},
			&cli.StringSliceFlag{Name: "image", Usage: "with --backfill, also copy `REF` (repeatable)", EnvVars: envVar("image")},
			&cli.PathFlag{Name: "images-from", Usage: "with --backfill, also copy the references listed in `FILE`", EnvVars: envVar("images-from")},
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would be set and copied; write nothing", EnvVars: envVar("dry-run")},
			&cli.BoolFlag{Name: "json", Usage: "write the result as JSON to stdout", EnvVars: envVar("json")},
			&cli.IntFlag{Name: "jobs", Usage: "copy `N` images in parallel with --backfill", Value: 4, EnvVars: envVar("jobs")},
			&cli.DurationFlag{Name: "timeout", Usage: "the longest a registry or the AWS API may stay silent before the request is abandoned, a `DURATION`", Value: defaultTimeout, EnvVars: envVar("timeout")},
			&cli.BoolFlag{Name: "scan-on-push", Usage: "turn on scan-on-push in repositories --backfill creates", Value: true, EnvVars: envVar("scan-on-push")},
			&cli.StringFlag{Name: "tag-mutability", Usage: "`MUTABLE` or IMMUTABLE, for repositories --backfill creates", EnvVars: envVar("tag-mutability")},
			&cli.StringFlag{Name: "kms-key", Usage: "encrypt repositories --backfill creates with KMS key `ARN`", EnvVars: envVar("kms-key")},
			&cli.StringSliceFlag{Name: "repo-tag", Usage: "tag repositories --backfill creates with `K=V`", EnvVars: envVar("repo-tag")},
			&cli.PathFlag{Name: "lifecycle-policy", Usage: "apply the lifecycle policy in `FILE` to repositories --backfill creates", EnvVars: envVar("lifecycle-policy")},
		}, namingFlags()...),
		OnUsageError: onUsageError,
		Action:       replicationAction,
	}
}

func replicationAction(c *cli.Context) error {
	s, err := current(c)
	if err != nil {
		return settingsExit(err)
	}
	dests, err := s.Destinations()
	if err != nil {
		return settingsExit(err)
	}
	backfill := c.Bool("backfill")
	if !backfill && (c.Args().Present() || len(c.StringSlice("image")) > 0 || c.Path("images-from") != "") {
		return usageError("paths, --image and --images-from name images to copy: they need --backfill")
	}
	opts, err := options(c)
	if err != nil {
		return err
	}
	found := &project.Images{Prefixes: opts.Prefixes}
	var failedFiles error
	if backfill {
		if failedFiles, err = gatherImages(c, opts, found); err != nil {
			return err
		}
	}
	mopts, err := mirrorOptions(c)
	if err != nil {
		return err
	}
	json := c.Bool("json")
	out, err := project.Replicate(c.Context, found.List, opts.Prefixes, dests, backfill, func(r *project.Replication) {
		switch {
		case json:
		case len(r.Backfill) == 0:
			fmt.Fprintln(c.App.Writer, r.Replication)
		default:
			b := r.Backfill[len(r.Backfill)-1]
			fmt.Fprintf(c.App.Writer, "backfill into %s:\n", b.Destination)
			b.Report.WriteTable(c.App.Writer)
		}
	}, mopts...)
	var bf *project.BackfillError
	switch {
	case errors.Is(err, ecr.ErrNoRegion):
		return cli.Exit("no AWS region: pass --region, set AWS_REGION, or put region in .ecrbase.yaml", exitError)
	case err != nil && !errors.As(err, &bf):
		return cli.Exit(oneLine(err), exitError)
	}
	if json {
		if err := writeJSON(c.App.Writer, out); err != nil {
			return err
		}
	}
	if bf != nil {
		return cli.Exit(bf.Error(), exitError)
	}
	return failedFiles
}
