package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// contentFlags are mirror's flags for content sources and referrers.
func contentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "content-source", Usage: "for `REGISTRY=URL`, read that registry's images by digest from URL first, verified; repeatable, in order of preference (replaces the defaults)", EnvVars: envVar("content-source")},
		&cli.BoolFlag{Name: "no-content-sources", Usage: "read every image from its own registry, defaults included", EnvVars: envVar("no-content-sources")},
		&cli.BoolFlag{Name: "no-referrers", Usage: "do not copy signatures, attestations and other referrers of the images", EnvVars: envVar("no-referrers")},
	}
}

// contentSourceFlags reads the repeated --content-source REGISTRY=URL, in
// order. It returns nil when the flag is not set.
func contentSourceFlags(c *cli.Context) (map[string][]string, error) {
	values := c.StringSlice("content-source")
	if len(values) == 0 {
		return nil, nil
	}
	m := map[string][]string{}
	for _, v := range values {
		for _, kv := range strings.Split(v, ",") {
			reg, u, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || reg == "" || u == "" {
				return nil, usageError("--content-source %q: want REGISTRY=URL, such as docker.io=https://mirror.gcr.io", redactUserinfo(kv))
			}
			if err := checkMirror(reg, u); err != nil {
				return nil, usageError("--content-source %s: %v", redactUserinfo(kv), err)
			}
			reg = rewrite.NormalizeRegistry(reg)
			m[reg] = append(m[reg], u)
		}
	}
	return m, nil
}

// contentOptions turns the content flags into ecr options; the file's
// content_sources apply (in mirrorConfig) only when no flag sets them.
func contentOptions(c *cli.Context) ([]ecr.Option, error) {
	sources, err := contentSourceFlags(c)
	if err != nil {
		return nil, err
	}
	if c.Bool("no-content-sources") && sources != nil {
		return nil, usageError("--content-source and --no-content-sources contradict each other")
	}
	o := []ecr.Option{ecr.WithNoContentSources(c.Bool("no-content-sources")), ecr.WithNoReferrers(c.Bool("no-referrers"))}
	if sources != nil {
		o = append(o, ecr.WithContentSources(sources))
	}
	// A content source may stay silent for 10 s by default; --timeout
	// (ECRBASE_TIMEOUT), when given, bounds it as it bounds the registries.
	if c.IsSet("timeout") {
		o = append(o, ecr.WithContentTimeout(c.Duration("timeout")))
	}
	return o, nil
}

// contentSourcesFromFile applies the file's content_sources when neither
// --content-source nor --no-content-sources is set.
func contentSourcesFromFile(c *cli.Context, cfg *fileConfig, o *ecr.Options) {
	if _, ok := flagSource(c, "content-source"); ok {
		return
	}
	if _, ok := flagSource(c, "no-content-sources"); ok {
		return
	}
	if cfg.ContentSources.set() {
		o.ContentSources = map[string][]string{}
		for _, p := range cfg.ContentSources.V {
			reg := rewrite.NormalizeRegistry(p.Key)
			o.ContentSources[reg] = append(o.ContentSources[reg], p.Value)
		}
	}
}

// contentSources decodes `content_sources: {docker.io: [URL, ...]}`: each
// registry's URLs in order of preference. An empty mapping turns the
// defaults off.
func (d *decoder) contentSources(n *yaml.Node) error {
	const name = "content_sources"
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: want a mapping of registries to lists of URLs, such as {docker.io: [https://mirror.gcr.io]}, got %s", name, kind(n))
	}
	out := []pair{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k, "%s: want a registry name, got %s", name, kind(k))
		}
		if first, ok := seen[k.Value]; ok {
			return d.errorf(k, "%s.%s repeated (first on line %d)", name, k.Value, first)
		}
		seen[k.Value] = k.Line
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, item := range items {
			item = resolve(item)
			s, err := d.scalar(item, name+"."+k.Value)
			if err != nil {
				return err
			}
			if err := checkMirror(k.Value, s); err != nil {
				return d.errorf(item, "%s.%s: %v", name, k.Value, err)
			}
			out = append(out, pair{k.Value, s, item.Line})
		}
	}
	d.cfg.ContentSources = value[[]pair]{out, n.Line}
	return nil
}

// contentSettings are the rows `ecrbase config` shows for content sources.
func contentSettings(c *cli.Context, cfg *fileConfig) []setting {
	var rows []setting
	add := func(m map[string][]string, s source) {
		regs := make([]string, 0, len(m))
		for k := range m {
			regs = append(regs, k)
		}
		slices.Sort(regs)
		for _, k := range regs {
			rows = append(rows, setting{Name: "content_sources", Key: k, Value: m[k], source: s})
		}
		if len(m) == 0 {
			rows = append(rows, setting{Name: "content_sources", Value: map[string]string{}, source: s})
		}
	}
	if s, ok := flagSource(c, "no-content-sources"); ok && c.Bool("no-content-sources") {
		add(nil, s)
		return rows
	}
	if s, ok := flagSource(c, "content-source"); ok {
		m, _ := contentSourceFlags(c)
		add(m, s)
		return rows
	}
	if cfg.ContentSources.set() {
		var o ecr.Options
		contentSourcesFromFile(c, cfg, &o)
		add(o.ContentSources, resolver{c, cfg}.fileAt(cfg.ContentSources.Line))
		return rows
	}
	// The defaults stand aside for a registry read through a mirror.
	given, _ := pairs(c, "registry-mirror")
	mirrors, _ := resolver{c, cfg}.pairs("registry-mirror", given, cfg.RegistryMirrors, rewrite.NormalizeRegistry)
	defaults := map[string][]string{}
	for reg, urls := range ecr.DefaultContentSources {
		mirrored := false
		for m := range mirrors {
			mirrored = mirrored || rewrite.NormalizeRegistry(m) == reg
		}
		if !mirrored {
			defaults[reg] = urls
		}
	}
	add(defaults, defaultSource)
	return rows
}
