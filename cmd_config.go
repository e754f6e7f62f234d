package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print the effective configuration and where each value comes from",
		Description: `Settings come from, in order: a flag, its environment variable, the
	repository's .ecrbase.yaml (looked up from the current directory to the git
	root; --config or ECRBASE_CONFIG names another), then the built-in default.
	config takes the same flags as mirror, so it shows what a command line would
	use. The README describes the file field by field.

	Examples:
	   ecrbase config
	   ecrbase config --json
	   ecrbase --config ci/ecrbase.yaml config --platform linux/amd64`,
		Flags:        configFlags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			rows, err := configSettings(c, cfg)
			if err != nil {
				return err
			}
			// What mirror would refuse, config refuses too.
			if _, err := mirrorOptions(c); err != nil {
				return err
			}
			if c.Bool("json") {
				out := struct {
					File     *string   `json:"file"`
					Settings []setting `json:"settings"`
				}{Settings: rows}
				if cfg.Path != "" {
					out.File = &cfg.Path
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printSettings(c.App.Writer, c, cfg, rows)
			return nil
		},
	}
}

// mirrorSettingFlags are the mirror flags the configuration file can set.
var mirrorSettingFlags = []string{"platform", "registry-mirror", "insecure-registry", "scan-on-push", "tag-mutability", "kms-key", "repo-tag", "lifecycle-policy", "content-source", "no-content-sources"}

// configFlags are --json, the naming flags, and mirror's flags for the
// settings the file holds (the same definitions, so the same environment
// variables).
func configFlags() []cli.Flag {
	flags := []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", EnvVars: envVar("json")}}
	flags = append(flags, namingFlags()...)
	for _, f := range mirrorCommand().Flags {
		if slices.Contains(mirrorSettingFlags, f.Names()[0]) {
			flags = append(flags, f)
		}
	}
	return flags
}

// setting is one effective value and where it came from. Mapping settings
// (prefixes, build_args, ...) have one setting per key.
type setting struct {
	Name  string `json:"name"`
	Key   string `json:"key,omitempty"`
	Value any    `json:"value"`
	source
}

// configSettings resolves every setting the file can hold, with the same
// resolver applyConfig and mirrorConfig use.
func configSettings(c *cli.Context, cfg *fileConfig) ([]setting, error) {
	r := resolver{c, cfg}
	var rows []setting
	add := func(name string, v any, s source) { rows = append(rows, setting{Name: name, Value: v, source: s}) }
	str := func(name, flag string, v value[string], def string) {
		val, s := r.str(flag, v, def)
		add(name, val, s)
	}
	list := func(name, flag string, v value[[]string]) {
		val, s := r.list(flag, v)
		if val == nil {
			val = []string{}
		}
		add(name, val, s)
	}
	pairs := func(name, flag string, file []pair, norm func(string) string) error {
		given, err := pairs(c, flag)
		if err != nil {
			return err
		}
		vals, srcs := r.pairs(flag, given, file, norm)
		if len(vals) == 0 {
			add(name, map[string]string{}, defaultSource)
			return nil
		}
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := vals[k]
			if flag == "registry-mirror" {
				v = redactUserinfo(v)
			}
			rows = append(rows, setting{Name: name, Key: k, Value: v, source: srcs[k]})
		}
		return nil
	}

	str("account_arg", "account-arg", cfg.AccountArg, registry.DefaultAccountArg)
	str("region_arg", "region-arg", cfg.RegionArg, registry.DefaultRegionArg)
	region, s := r.region()
	add("region", region, s)
	if err := pairs("prefixes", "prefix", cfg.Prefixes, registry.Normalize); err != nil {
		return nil, err
	}
	list("exclude", "exclude", cfg.Exclude)
	list("only", "only", cfg.Only)
	str("syntax", "syntax", cfg.Syntax, string(rewrite.SyntaxKeep))
	str("onbuild", "onbuild", cfg.OnBuild, string(rewrite.OnBuildKeep))
	b, s := r.boolean("strict", cfg.Strict, false)
	add("strict", b, s)
	if err := pairs("build_args", "build-arg", cfg.BuildArgs, nil); err != nil {
		return nil, err
	}

	list("platforms", "platform", cfg.Platforms)
	if err := pairs("registry_mirrors", "registry-mirror", cfg.RegistryMirrors, registry.Normalize); err != nil {
		return nil, err
	}
	list("insecure_registries", "insecure-registry", cfg.InsecureRegistries)
	rows = append(rows, contentSettings(c, cfg)...)
	b, s = r.boolean("scan-on-push", cfg.ScanOnPush, true)
	add("repository.scan_on_push", b, s)
	str("repository.tag_mutability", "tag-mutability", cfg.TagMutability, "")
	str("repository.kms_key", "kms-key", cfg.KMSKey, "")
	if err := pairs("repository.tags", "repo-tag", cfg.RepositoryTags, nil); err != nil {
		return nil, err
	}
	policy, s := r.str("lifecycle-policy", cfg.LifecyclePolicy, "")
	if s.Kind == "file" {
		// Report a missing or broken policy file here rather than at the
		// first mirror.
		if _, err := readLifecyclePolicy(cfg); err != nil {
			return nil, err
		}
		policy = relative(policy)
	}
	add("repository.lifecycle_policy", policy, s)
	list("replication.to", "to", cfg.ReplicationTo)
	return rows, nil
}

// relative shows an absolute path relative to the working directory when it
// is below it.
func relative(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func printSettings(w io.Writer, c *cli.Context, cfg *fileConfig, rows []setting) {
	switch s, ok := flagSource(c, "config"); {
	case cfg.Path == "":
		fmt.Fprintln(w, "config file: none (no .ecrbase.yaml from here up to the repository root)")
	case ok:
		fmt.Fprintf(w, "config file: %s (%s)\n", cfg.Path, s)
	default:
		fmt.Fprintf(w, "config file: %s\n", cfg.Path)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, r := range rows {
		name := r.Name
		if r.Key != "" {
			name += "[" + r.Key + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, settingText(r.Value), r.source)
	}
	tw.Flush()
}

func settingText(v any) string {
	switch v := v.(type) {
	case []string:
		return dash(strings.Join(v, ","))
	case map[string]string:
		return "-"
	case string:
		return dash(v)
	}
	return fmt.Sprint(v)
}

// redactUserinfo hides the user:password@ of a URL (a registry mirror's)
// in text that is printed.
func redactUserinfo(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	} else {
		scheme += "://"
	}
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	if at := strings.LastIndex(rest[:hostEnd], "@"); at >= 0 {
		return scheme + "[redacted]@" + rest[at+1:]
	}
	return s
}
