package settings

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"ecrbase/ecr"
	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

// Row is one effective value and where it came from, as `ecrbase config`
// shows it. Mapping settings (prefixes, build_args, ...) have one row per
// key, or one row without key when empty.
type Row struct {
	Name   string
	Key    string
	Value  any // string, bool, []string, map[string]string{} (empty) or, for content sources, []string
	Source Source
}

// Rows resolves every setting the file can hold, with the rules Rewrite
// and ECR apply. A lifecycle policy named by the file is read and checked.
func (s *Settings) Rows() ([]Row, error) {
	f := s.File
	var rows []Row
	add := func(name string, v any, src Source) { rows = append(rows, Row{Name: name, Value: v, Source: src}) }
	str := func(name, flag string, v Value[string], def string) {
		val, src := s.str(flag, v, def)
		add(name, val, src)
	}
	list := func(name, flag string, v Value[[]string]) {
		val, src := s.list(flag, v)
		if val == nil {
			val = []string{}
		}
		add(name, val, src)
	}
	pairs := func(name, flag string, file []Pair, norm func(string) string) error {
		vals, srcs, err := s.pairs(flag, file, norm)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			add(name, map[string]string{}, Default)
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			v := vals[k]
			if flag == "registry-mirror" {
				v = Redact(v)
			}
			rows = append(rows, Row{Name: name, Key: k, Value: v, Source: srcs[k]})
		}
		return nil
	}

	str("account_arg", "account-arg", f.AccountArg, registry.DefaultAccountArg)
	str("region_arg", "region-arg", f.RegionArg, registry.DefaultRegionArg)
	region, src := s.Region()
	add("region", region, src)
	if err := pairs("prefixes", "prefix", f.Prefixes, registry.Normalize); err != nil {
		return nil, err
	}
	list("exclude", "exclude", f.Exclude)
	list("only", "only", f.Only)
	str("syntax", "syntax", f.Syntax, string(rewrite.SyntaxKeep))
	str("onbuild", "onbuild", f.OnBuild, string(rewrite.OnBuildKeep))
	b, src := s.boolean("strict", f.Strict, false)
	add("strict", b, src)
	if err := pairs("build_args", "build-arg", f.BuildArgs, nil); err != nil {
		return nil, err
	}

	list("platforms", "platform", f.Platforms)
	if err := pairs("registry_mirrors", "registry-mirror", f.RegistryMirrors, registry.Normalize); err != nil {
		return nil, err
	}
	list("insecure_registries", "insecure-registry", f.InsecureRegistries)
	content, err := s.contentRows()
	if err != nil {
		return nil, err
	}
	rows = append(rows, content...)
	b, src = s.boolean("scan-on-push", f.ScanOnPush, true)
	add("repository.scan_on_push", b, src)
	str("repository.tag_mutability", "tag-mutability", f.TagMutability, "")
	str("repository.kms_key", "kms-key", f.KMSKey, "")
	if err := pairs("repository.tags", "repo-tag", f.RepositoryTags, nil); err != nil {
		return nil, err
	}
	policy, src := s.str("lifecycle-policy", f.LifecyclePolicy, "")
	if src.Kind == "file" {
		// Report a missing or broken policy file here rather than at the
		// first mirror.
		if _, err := s.lifecyclePolicy(); err != nil {
			return nil, err
		}
		policy = relative(policy)
	}
	add("repository.lifecycle_policy", policy, src)
	to, src := s.ReplicationTo()
	if to == nil {
		to = []string{}
	}
	add("replication.to", to, src)
	return rows, nil
}

// contentRows are the rows of the content sources in effect, one per
// registry.
func (s *Settings) contentRows() ([]Row, error) {
	var rows []Row
	add := func(m map[string][]string, src Source) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			rows = append(rows, Row{Name: "content_sources", Key: k, Value: m[k], Source: src})
		}
		if len(m) == 0 {
			rows = append(rows, Row{Name: "content_sources", Value: map[string]string{}, Source: src})
		}
	}
	sources, off, src, err := s.contentSources()
	if err != nil {
		return nil, err
	}
	if off || sources != nil {
		add(sources, src)
		return rows, nil
	}
	// The defaults stand aside for a registry read through a mirror.
	mirrors, _, err := s.pairs("registry-mirror", s.File.RegistryMirrors, registry.Normalize)
	if err != nil {
		return nil, err
	}
	defaults := map[string][]string{}
	for reg, urls := range ecr.DefaultContentSources {
		mirrored := false
		for m := range mirrors {
			mirrored = mirrored || registry.Normalize(m) == reg
		}
		if !mirrored {
			defaults[reg] = urls
		}
	}
	add(defaults, Default)
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
