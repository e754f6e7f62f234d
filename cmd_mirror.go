package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	"ecrbase/project"
	"ecrbase/rewrite"
)

func mirrorCommand() *cli.Command {
	return &cli.Command{
		Name:      "mirror",
		Usage:     "copy every image Dockerfiles pull into ECR, digest-exact",
		ArgsUsage: "[PATH...]",
		Description: `For each image, mirror HEADs the source (free on Docker Hub) and the ECR tag:
	an image already in ECR with the same digest costs no pull at all. Missing
	images are copied whole (every platform of an index), stale ones updated,
	blobs streamed and skipped when ECR has them, and the tag written last.
	Repositories are created as needed, with scan-on-push.

	Account: --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN, then STS.
	Region and credentials: the AWS SDK's default chain (--region overrides).
	Docker Hub credentials: DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, or the
	Docker config file and its credential helpers.

	Examples:
	   ecrbase mirror --rewrite .                     # CodeBuild pre_build
	   ecrbase mirror --dry-run services/api
	   ecrbase mirror --image python:3.12 --image quay.io/minio/minio:latest
	   ecrbase mirror --images-from base-images.txt   # a catalogue, e.g. on a schedule
	   ecrbase mirror --platform linux/amd64,linux/arm64 --json . > mirror.json
	   ecrbase mirror --registry-mirror docker.io=https://artifactory.example.com/dockerhub .
	   ecrbase mirror --content-source docker.io=https://mirror.gcr.io .

	Docker Hub images are read by digest from content sources first (by
	default public.ecr.aws/docker for official images, then mirror.gcr.io),
	verified, so that Docker Hub counts no pull; its tag is still resolved on
	Docker Hub with a free HEAD. Signatures and other referrers of the images
	are copied too (--no-referrers to skip them).`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "image", Usage: "also mirror `REF` (repeatable)", EnvVars: envVar("image")},
			&cli.PathFlag{Name: "images-from", Usage: "also mirror the references listed in `FILE`, one per line, # comments (- reads stdin)", EnvVars: envVar("images-from")},
			&cli.StringSliceFlag{Name: "platform", Usage: "copy only these platforms of an index, `OS/ARCH[,...]` (the index digest changes)", EnvVars: envVar("platform")},
			&cli.BoolFlag{Name: "no-update", Usage: "keep what ECR has when an upstream tag moved", EnvVars: envVar("no-update")},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan; write nothing, spend no pull", EnvVars: envVar("dry-run")},
			&cli.BoolFlag{Name: "json", Usage: "write the report as JSON to stdout", EnvVars: envVar("json")},
			&cli.BoolFlag{Name: "rewrite", Usage: "rewrite the Dockerfiles in place after a successful mirror", EnvVars: envVar("rewrite")},
			&cli.BoolFlag{Name: "pin", Usage: "with --rewrite, add the mirrored @sha256 digest to each reference", EnvVars: envVar("pin")},
			&cli.IntFlag{Name: "jobs", Usage: "copy `N` images in parallel", Value: 4, EnvVars: envVar("jobs")},
			&cli.IntFlag{Name: "head-jobs", Usage: "check `N` images (HEAD requests) in parallel before copying", Value: 64, EnvVars: envVar("head-jobs")},
			&cli.StringSliceFlag{Name: "registry-mirror", Usage: "read `REGISTRY=URL` through a mirror or proxy", EnvVars: envVar("registry-mirror")},
			&cli.StringSliceFlag{Name: "insecure-registry", Usage: "allow plain HTTP to `HOST` (loopback is always allowed)", EnvVars: envVar("insecure-registry")},
			&cli.BoolFlag{Name: "wait", Usage: "when Docker Hub's pull window is used up, wait instead of failing", EnvVars: envVar("wait")},
			&cli.DurationFlag{Name: "max-wait", Usage: "with --wait, longest total wait on 429 answers per image, a `DURATION` such as 10m", Value: defaultMaxWait, EnvVars: envVar("max-wait")},
			&cli.DurationFlag{Name: "timeout", Usage: "the longest a registry or the AWS API may stay silent before the request is abandoned, a `DURATION`; when set, it bounds content sources too (else 10s)", Value: defaultTimeout, EnvVars: envVar("timeout")},
			&cli.BoolFlag{Name: "scan-on-push", Usage: "turn on scan-on-push in repositories it creates", Value: true, EnvVars: envVar("scan-on-push")},
			&cli.StringFlag{Name: "tag-mutability", Usage: "tag mutability of repositories it creates, `MUTABLE|IMMUTABLE`", EnvVars: envVar("tag-mutability")},
			&cli.StringFlag{Name: "kms-key", Usage: "encrypt created repositories with KMS key `ARN` (default AES256)", EnvVars: envVar("kms-key")},
			&cli.StringSliceFlag{Name: "repo-tag", Usage: "tag created repositories with `K=V`", EnvVars: envVar("repo-tag")},
			&cli.PathFlag{Name: "lifecycle-policy", Usage: "apply the lifecycle policy in `FILE` to created repositories", EnvVars: envVar("lifecycle-policy")},
			&cli.BoolFlag{Name: "scan-wait", Usage: "wait for the scan results of the images pushed", EnvVars: envVar("scan-wait")},
			&cli.StringFlag{Name: "fail-on", Usage: "exit 1 when a scan finds `SEVERITY` or worse (LOW, MEDIUM, HIGH, CRITICAL)", EnvVars: envVar("fail-on")},
		}, append(contentFlags(), namingFlags()...)...),
		OnUsageError: onUsageError,
		Action:       mirrorAction,
	}
}

// mirrorAction discovers the images, mirrors them, reports, and with
// --rewrite rewrites the Dockerfiles once every image is in ECR.
func mirrorAction(c *cli.Context) error {
	opts, err := options(c)
	if err != nil {
		return err
	}
	mopts, err := mirrorOptions(c)
	if err != nil {
		return err
	}
	// With --rewrite, the analyses of discovery are kept and rewritten
	// once the mirror has the digests: no Dockerfile is parsed twice.
	found := &project.Images{Prefixes: opts.Prefixes, Keep: c.Bool("rewrite") && !c.Bool("dry-run")}
	failedFiles, err := gatherImages(c, opts, found)
	if err != nil {
		return err
	}
	report, mirrorErr := ecr.Mirror(c.Context, found.List, mopts...)
	if report != nil {
		if err := writeReport(c, report); err != nil {
			return err
		}
	}
	if mirrorErr != nil {
		return awsExit(mirrorErr, "")
	}
	if report.DryRun && report.Failed > 0 {
		return cli.Exit(fmt.Sprintf("the plan has %d image(s) that would fail", report.Failed), exitError)
	}
	if !found.Keep || len(found.Good) == 0 {
		return failedFiles
	}
	// A Dockerfile that could not be read or parsed was reported and
	// stops no other: the others are rewritten, and the status is still 1.
	plan := project.MirrorPlan(report, opts.Region, c.Bool("pin"))
	if err := filesExit(project.Rewrite(c.Context, found.Good, project.Config{Options: opts}, reporter(c, nil, func(f *project.File) error {
		if f.Name == project.Stdin {
			_, err := c.App.Writer.Write(f.Result.Output)
			return err
		}
		return writeBack(c, f)
	}), plan...)); err != nil {
		return err
	}
	return failedFiles
}

// gatherImages adds to found the images of the paths, --image and
// --images-from (project.Images.Gather).
func gatherImages(c *cli.Context, opts rewrite.Options, found *project.Images) (failedFiles, err error) {
	src := project.Sources{
		Paths:   c.Args().Slice(),
		Ignore:  func() (*rewrite.Ignore, error) { return ignores(c) },
		Images:  c.StringSlice("image"),
		Catalog: c.Path("images-from"),
	}
	cfg := project.Config{Options: opts, Stdin: c.App.Reader}
	failedFiles, err = found.Gather(c.Context, src, cfg, report(c))
	var input *project.InputError
	switch {
	case errors.As(err, &input):
		return nil, usageError("%s", err)
	case errors.Is(err, project.ErrNoFiles):
		return nil, cli.Exit(err.Error(), exitError)
	case err != nil:
		return nil, err
	}
	return filesExit(failedFiles), nil
}

// mirrorOptions are the ecr options of the command's settings, checked
// before any Dockerfile is read or any repository created.
func mirrorOptions(c *cli.Context) ([]ecr.Option, error) {
	s, err := current(c)
	if err != nil {
		return nil, settingsExit(err)
	}
	o, err := s.ECR()
	if err != nil {
		return nil, settingsExit(err)
	}
	return append(o, ecr.WithProgress(c.App.ErrWriter)), nil
}

// writeReport prints the mirror's report: as JSON with --json, else as a
// table.
func writeReport(c *cli.Context, rep *ecr.Report) error {
	if c.Bool("json") {
		return writeJSON(c.App.Writer, rep)
	}
	return rep.WriteTable(c.App.Writer)
}

// awsExit turns an error of the ecr library into the command's exit. The
// two problems every first run meets, no region and no credentials, get
// one line saying what to do instead of the SDK's chain of messages.
func awsExit(err error, prefix string) error {
	switch {
	case errors.Is(err, ecr.ErrNoRegion):
		return cli.Exit("no AWS region: pass --region, set AWS_REGION, or put region in .ecrbase.yaml", exitError)
	case errors.Is(err, ecr.ErrNoCredentials):
		return cli.Exit("no AWS credentials: set AWS_PROFILE (after aws sso login if it uses SSO) or "+
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is available (CodeBuild, EC2, ECS)", exitError)
	}
	return cli.Exit(prefix+oneLine(err), exitError)
}

// defaultMaxWait bounds --wait: Docker Hub's window is six hours, and a
// build should fail rather than sit for that long.
const defaultMaxWait = 10 * time.Minute

// defaultTimeout is how long a registry or the AWS API may stay silent: long
// enough for a slow registry, short enough that a hung one does not hold a
// build until the build's own timeout.
const defaultTimeout = 30 * time.Second
