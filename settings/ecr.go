package settings

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"ecrbase/ecr"
	"ecrbase/internal/registry"
)

// ECR returns the options of the commands that mirror (mirror,
// replication; config checks them): the settings of the file, the flags
// given, and ecr's own defaults for the rest. The lifecycle policy is read
// and every setting checked here, by the rules mirror applies, so that a
// bad one stops the command before any Dockerfile is read or any
// repository created.
func (s *Settings) ECR() ([]ecr.Option, error) {
	f, g := s.File, s.given
	region, _ := s.str("region", f.Region, "")
	o := []ecr.Option{
		ecr.WithAccount(g.str("account")),
		ecr.WithRegion(region),
		ecr.WithNoUpdate(g.boolean("no-update")),
		ecr.WithDryRun(g.boolean("dry-run")),
		ecr.WithWait(g.boolean("wait")),
		ecr.WithScanWait(g.boolean("scan-wait") || g.str("fail-on") != ""),
		ecr.WithFailOn(g.str("fail-on")),
	}
	if g.Has("jobs") {
		o = append(o, ecr.WithJobs(g.number("jobs", 0)))
	}
	if g.Has("head-jobs") {
		o = append(o, ecr.WithHeadJobs(g.number("head-jobs", 0)))
	}
	if g.Has("max-wait") {
		o = append(o, ecr.WithMaxWait(g.duration("max-wait")))
	}
	if g.Has("timeout") {
		// A content source may stay silent for 10 s by default; --timeout
		// (ECRBASE_TIMEOUT), when given, bounds it as it bounds the
		// registries.
		d := g.duration("timeout")
		o = append(o, ecr.WithTimeout(d), ecr.WithContentTimeout(d))
	}
	content, off, _, err := s.contentSources()
	if err != nil {
		return nil, err
	}
	o = append(o, ecr.WithNoContentSources(off), ecr.WithNoReferrers(g.boolean("no-referrers")))
	if content != nil {
		o = append(o, ecr.WithContentSources(content))
	}
	if platforms, _ := s.Platforms(); len(platforms) > 0 {
		o = append(o, ecr.WithPlatforms(platforms...))
	}
	insecure, _ := s.list("insecure-registry", f.InsecureRegistries)
	if len(insecure) > 0 {
		o = append(o, ecr.WithInsecureRegistry(insecure...))
	}
	mirrors, _, err := s.pairs("registry-mirror", f.RegistryMirrors, registry.Normalize)
	if err != nil {
		return nil, err
	}
	for _, reg := range slices.Sorted(maps.Keys(mirrors)) {
		o = append(o, ecr.WithRegistryMirror(reg, mirrors[reg]))
	}
	tags, _, err := s.pairs("repo-tag", f.RepositoryTags, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		o = append(o, ecr.WithRepositoryTag(k, tags[k]))
	}
	policy, err := s.lifecyclePolicy()
	if err != nil {
		return nil, err
	}
	if policy != "" {
		o = append(o, ecr.WithLifecyclePolicy(policy))
	}
	if err := s.checkFileMirrors(insecure); err != nil {
		return nil, err
	}
	scan, _ := s.boolean("scan-on-push", f.ScanOnPush, true)
	mutability, _ := s.str("tag-mutability", f.TagMutability, "")
	kms, _ := s.str("kms-key", f.KMSKey, "")
	o = append(o, ecr.WithScanOnPush(scan), ecr.WithTagMutability(mutability), ecr.WithKMSKey(kms))
	if err := ecr.CheckOptions(o...); err != nil {
		return nil, err
	}
	return o, nil
}

// checkFileMirrors checks the file's registry mirrors that no flag
// replaces against the insecure registries in effect, with the rule mirror
// applies, so that a plain-HTTP mirror is refused at its line.
func (s *Settings) checkFileMirrors(insecure []string) error {
	given, err := s.given.pairs("registry-mirror", s.lookupEnv)
	if err != nil {
		return err
	}
	replaced := map[string]bool{}
	for k := range given {
		replaced[registry.Normalize(k)] = true
	}
	for _, p := range s.File.RegistryMirrors {
		if replaced[registry.Normalize(p.Key)] {
			continue
		}
		if _, err := registry.ParseMirror(p.Key, p.Value, insecure); err != nil {
			return &Error{File: s.File.Path, Line: p.Line, Err: fmt.Errorf("registry_mirrors.%s: %w", p.Key, err)}
		}
	}
	return nil
}

// contentSources are the registries' content sources in effect and where
// they come from: --no-content-sources turns them all off; else
// --content-source (REGISTRY=URL, repeatable, in order of preference)
// replaces the file's content_sources; nil leaves ecr's defaults.
func (s *Settings) contentSources() (sources map[string][]string, off bool, src Source, err error) {
	given, err := s.contentFlags()
	if err != nil {
		return nil, false, Source{}, err
	}
	if s.given.boolean("no-content-sources") {
		if given != nil {
			return nil, false, Source{}, usagef("--content-source and --no-content-sources contradict each other")
		}
		src, _ := s.given.Source("no-content-sources")
		return nil, true, src, nil
	}
	if given != nil {
		src, _ := s.given.Source("content-source")
		return given, false, src, nil
	}
	if s.File.ContentSources.Set() {
		return s.fileContentSources(), false, s.fileAt(s.File.ContentSources.Line), nil
	}
	return nil, false, Default, nil
}

// fileContentSources are the file's content_sources by registry; nil when
// the file has none.
func (s *Settings) fileContentSources() map[string][]string {
	if !s.File.ContentSources.Set() {
		return nil
	}
	m := map[string][]string{}
	for _, p := range s.File.ContentSources.V {
		reg := registry.Normalize(p.Key)
		m[reg] = append(m[reg], p.Value)
	}
	return m
}

// contentFlags reads the repeated --content-source REGISTRY=URL, in order.
// It returns nil when the flag is not set.
func (s *Settings) contentFlags() (map[string][]string, error) {
	values := s.given["content-source"].Values
	if len(values) == 0 {
		return nil, nil
	}
	m := map[string][]string{}
	for _, v := range values {
		for _, kv := range strings.Split(v, ",") {
			reg, u, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || reg == "" || u == "" {
				return nil, usagef("--content-source %q: want REGISTRY=URL, such as docker.io=https://mirror.gcr.io", Redact(kv))
			}
			if err := CheckMirror(reg, u); err != nil {
				return nil, usagef("--content-source %s: %v", Redact(kv), err)
			}
			reg = registry.Normalize(reg)
			m[reg] = append(m[reg], u)
		}
	}
	return m, nil
}
