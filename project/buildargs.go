package project

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"ecrbase/rewrite"
)

// BuildArgs gathers, from the files Each visits (Visit), what docker build
// must be given for their images to come from ECR on Host.
type BuildArgs struct {
	// Host is the ECR registry host, <account>.dkr.ecr.<region>.amazonaws.com.
	Host string
	// Syntax is the ECR repository and tag ("/repo:tag") of a # syntax=
	// image left as written.
	Syntax string
	// Images are the ECR values of the build arguments that name images.
	Images map[string]string
}

// Gather visits the Dockerfiles under paths (default ".") with Visit, then
// report. Paths that hold no Dockerfile are no error: build-args then gives
// the account and region alone.
func (b *BuildArgs) Gather(ctx context.Context, paths []string, ig *rewrite.Ignore, cfg Config, report Report) error {
	files, err := Discover(paths, ig)
	if err != nil {
		return nil
	}
	return Each(ctx, files, cfg, func(f *File) error { return report(f, b.Visit(f)) })
}

// Visit reads what a file needs; two files that need different values of
// one build argument are an error, located at the second.
func (b *BuildArgs) Visit(f *File) error {
	if f.Err != nil {
		return f.Err
	}
	if b.Images == nil {
		b.Images = map[string]string{}
	}
	for _, r := range f.Refs {
		if r.Kind == rewrite.KindSyntax && r.Status == rewrite.StatusKept && r.Repository != "" {
			b.Syntax = r.Target("")
		}
		if v := r.BuildArgValue(b.Host); v != "" {
			if prev, ok := b.Images[r.BuildArg]; ok && prev != v {
				return &rewrite.Error{File: r.File, Line: r.Line, Err: fmt.Errorf("--build-arg %s names %s here and %s elsewhere: one value cannot serve both", r.BuildArg, v, prev)}
			}
			b.Images[r.BuildArg] = v
		}
	}
	return nil
}

// List is the build arguments, in order: the account and region arguments
// with their values, the build arguments the images were resolved with
// (opts.BuildArgs, sorted; one that names an image names its ECR copy
// instead), and BUILDKIT_SYNTAX when a # syntax= image is left as written.
func (b *BuildArgs) List(opts rewrite.Options, account, region string) [][2]string {
	args := [][2]string{{opts.AccountArg, account}, {opts.RegionArg, region}}
	for _, k := range slices.Sorted(maps.Keys(opts.BuildArgs)) {
		if k == opts.AccountArg || k == opts.RegionArg {
			continue
		}
		v := opts.BuildArgs[k]
		if ecrValue, ok := b.Images[k]; ok {
			v = ecrValue
		}
		args = append(args, [2]string{k, v})
	}
	if b.Syntax != "" {
		args = append(args, [2]string{"BUILDKIT_SYNTAX", b.Host + b.Syntax})
	}
	return args
}

// WriteBuildArgs writes args (List) as `ecrbase build-args` prints them, in
// format: "docker", one line of --build-arg NAME=VALUE flags; "env", a
// NAME=VALUE line each; "json", one object indented by two spaces. Any
// other format is docker's.
func WriteBuildArgs(w io.Writer, format string, args [][2]string) error {
	switch format {
	case "json":
		m := map[string]string{}
		for _, kv := range args {
			m[kv[0]] = kv[1]
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case "env":
		var b strings.Builder
		for _, kv := range args {
			b.WriteString(kv[0] + "=" + kv[1] + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	parts := make([]string, len(args))
	for i, kv := range args {
		parts[i] = "--build-arg " + kv[0] + "=" + kv[1]
	}
	_, err := io.WriteString(w, strings.Join(parts, " ")+"\n")
	return err
}
