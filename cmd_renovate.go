package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/distribution/reference"
	"github.com/urfave/cli/v2"

	"ecrbase/renovate"
	"ecrbase/rewrite"
)

func renovateCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "format", Usage: "print the configuration as `json|table`", Value: "json", EnvVars: envVar("format")},
		&cli.StringFlag{Name: "merge", Usage: "merge into the Renovate configuration in `FILE` (renovate.json) and print the result", EnvVars: envVar("merge")},
		&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Usage: "with --merge, write the result back to the file", EnvVars: envVar("write")},
	}
	for _, f := range mirrorCommand().Flags {
		if f.Names()[0] == "platform" {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:      "renovate",
		Usage:     "print the Renovate registryAliases that match the rewritten Dockerfiles",
		ArgsUsage: "[PATH...]",
		Description: `Renovate substitutes the defaults of the ARGs a Dockerfile declares, then
	looks the image up through registryAliases. renovate prints one alias per
	ECR host the Dockerfiles name once rewritten (each region default and
	account ARG name in use) and per repository prefix (the built-in ones,
	--prefix and .ecrbase.yaml's), so Renovate updates tags in ECR references
	as it would upstream. With platforms set (--platform or .ecrbase.yaml),
	the digests in ECR are not upstream's, and a package rule turns off
	Renovate's digest updates for the mirrored images.

	Examples:
	   ecrbase renovate > renovate.json
	   ecrbase renovate --merge renovate.json -w
	   ecrbase renovate --format table services/`,
		Flags:        append(flags, namingFlags()...),
		OnUsageError: onUsageError,
		Before:       shortLived,
		Action:       renovateAction,
	}
}

func renovateAction(c *cli.Context) error {
	format, merge := c.String("format"), c.String("merge")
	if format != "json" && format != "table" {
		return usageError("--format %q: want json or table", format)
	}
	if merge != "" && format != "json" {
		return usageError("--merge writes JSON: drop --format %s", format)
	}
	if c.Bool("write") && merge == "" {
		return usageError("--write needs --merge FILE")
	}
	opts, files, err := inputs(c)
	if err != nil {
		return err
	}
	var hosts []string
	prefixes := map[string]string{}
	for _, reg := range rewrite.Registries() {
		prefixes[reg] = rewrite.DefaultPrefix(reg)
	}
	var packages []string
	failed := eachDockerfile(c, files, opts, func(name string, data []byte, res *rewrite.Result) error {
		found, err := renovate.Hosts(res.Output)
		if err != nil {
			return &rewrite.Error{File: name, Err: err}
		}
		for _, h := range found {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
		for _, r := range res.Refs {
			if r.Upstream == "" || r.Status == rewrite.StatusExcluded || r.Status == rewrite.StatusKept {
				continue
			}
			named, err := reference.ParseNormalizedNamed(r.Upstream)
			if err != nil {
				continue
			}
			reg := rewrite.NormalizeRegistry(reference.Domain(named))
			if _, ok := prefixes[reg]; !ok {
				prefixes[reg] = rewrite.DefaultPrefix(reg)
			}
			if p := named.Name(); !slices.Contains(packages, p) {
				packages = append(packages, p)
			}
		}
		return nil
	})
	if failed != nil {
		return failed
	}
	for reg, p := range opts.Prefixes {
		prefixes[rewrite.NormalizeRegistry(reg)] = p
	}
	cfg := renovate.Config{Aliases: renovate.Aliases(hosts, prefixes)}
	if platforms := effectivePlatforms(c); len(platforms) > 0 && len(packages) > 0 {
		slices.Sort(packages)
		cfg.PackageRules = append(cfg.PackageRules, renovate.PackageRule{
			Description: "ecrbase: mirror copies only " + strings.Join(platforms, ", ") +
				", so these images' digests in ECR are not upstream's; Renovate must not pin or update digests",
			MatchDatasources:  []string{"docker"},
			MatchPackageNames: packages,
			MatchUpdateTypes:  []string{"digest", "pinDigest"},
			Enabled:           false,
		})
	}
	if len(hosts) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "ecrbase: warning: no Dockerfile pulls from ECR once rewritten; there is nothing for Renovate to alias")
	}
	switch {
	case format == "table":
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ALIAS\tREGISTRY")
		for _, a := range cfg.Aliases {
			fmt.Fprintf(tw, "%s\t%s\n", a.Key, a.Value)
		}
		tw.Flush()
		for _, r := range cfg.PackageRules {
			fmt.Fprintf(c.App.Writer, "package rule: %s (%s)\n", r.Description, strings.Join(r.MatchPackageNames, ", "))
		}
		return nil
	case merge != "":
		existing, err := os.ReadFile(merge)
		if err != nil && !os.IsNotExist(err) {
			return cli.Exit(fmt.Sprintf("--merge %s: %v", merge, err), exitError)
		}
		out, err := renovate.Merge(existing, cfg)
		if err != nil {
			return cli.Exit("--merge "+strings.Replace(err.Error(), "renovate.json", merge, 1), exitError)
		}
		if !c.Bool("write") {
			_, err = c.App.Writer.Write(out)
			return err
		}
		write := func(name string, data []byte) error { return os.WriteFile(name, data, 0o644) }
		if existing != nil {
			// Keeps owner and mode, replaces atomically, and refuses to
			// write over a newer edit.
			write = func(name string, data []byte) error {
				return rewrite.WriteFile(name, data, rewrite.WithOriginal(existing))
			}
		}
		if err := write(merge, out); err != nil {
			return cli.Exit(fmt.Sprintf("writing %s: %v", merge, err), exitError)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", merge)
		return nil
	default:
		out, err := renovate.Merge(nil, cfg)
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(out)
		return err
	}
}

// effectivePlatforms are the platforms mirror copies: --platform, else the
// configuration file's.
func effectivePlatforms(c *cli.Context) []string {
	var out []string
	for _, p := range c.StringSlice("platform") {
		out = append(out, strings.Split(p, ",")...)
	}
	if len(out) > 0 {
		return out
	}
	cfg, err := loadConfig(c)
	if err != nil || !cfg.Platforms.set() {
		return nil
	}
	return slices.Clone(cfg.Platforms.V)
}
