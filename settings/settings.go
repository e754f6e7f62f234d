package settings

import (
	"ecrbase/ecr"
	"fmt"
	"os"
	"slices"

	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

// Settings are the effective settings of one command: what the user set
// (flags and their environment variables), over the configuration file,
// over the built-in defaults. Every value is resolved by the one rule
// flag > environment > file > default, and each comes with its source.
type Settings struct {
	// File is the configuration file in effect; its Path is "" when there
	// is none.
	File *File

	given     Given
	lookupEnv func(string) (string, bool)
}

// Resolve returns the settings of a command: given are the flags the user
// set; lookupEnv reads the environment for what the SDK reads by itself
// (AWS_REGION) and for a bare --build-arg NAME (os.LookupEnv; tests pass
// their own).
func Resolve(f *File, given Given, lookupEnv func(string) (string, bool)) *Settings {
	if f == nil {
		f = &File{}
	}
	if given == nil {
		given = Given{}
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return &Settings{File: f, given: given, lookupEnv: lookupEnv}
}

// Read loads the configuration file that applies in wd, the one --config
// names when given, and resolves the settings over it.
func Read(given Given, wd string, lookupEnv func(string) (string, bool)) (*Settings, error) {
	f, err := Load(given.str("config"), wd)
	if err != nil {
		return nil, err
	}
	return Resolve(f, given, lookupEnv), nil
}

// Given are the flags the user set.
func (s *Settings) Given() Given { return s.given }

func (s *Settings) fileAt(line int) Source {
	return Source{Kind: "file", File: s.File.Path, Line: line}
}

func (s *Settings) str(flag string, v Value[string], def string) (string, Source) {
	if src, ok := s.given.Source(flag); ok {
		return s.given.str(flag), src
	}
	if v.Set() {
		return v.V, s.fileAt(v.Line)
	}
	return def, Default
}

func (s *Settings) boolean(flag string, v Value[bool], def bool) (bool, Source) {
	if src, ok := s.given.Source(flag); ok {
		return s.given.boolean(flag), src
	}
	if v.Set() {
		return v.V, s.fileAt(v.Line)
	}
	return def, Default
}

// List resolves a list setting of the file against its flag. A list given
// by flag or environment replaces the file's list as a whole.
func (s *Settings) List(flag string, v Value[[]string]) ([]string, Source) { return s.list(flag, v) }

func (s *Settings) list(flag string, v Value[[]string]) ([]string, Source) {
	if src, ok := s.given.Source(flag); ok {
		return s.given.list(flag), src
	}
	if v.Set() {
		return slices.Clone(v.V), s.fileAt(v.Line)
	}
	return nil, Default
}

// pairs resolves a mapping setting key by key: entries given by flag or
// environment win, and the file's entries for other keys still apply, so
// that one --build-arg does not drop the file's defaults. norm, when set,
// says which keys are the same (index.docker.io is docker.io).
func (s *Settings) pairs(flag string, file []Pair, norm func(string) string) (map[string]string, map[string]Source, error) {
	given, err := s.given.pairs(flag, s.lookupEnv)
	if err != nil {
		return nil, nil, err
	}
	if norm == nil {
		norm = func(s string) string { return s }
	}
	out, src := map[string]string{}, map[string]Source{}
	have := map[string]bool{}
	if len(given) > 0 {
		from, _ := s.given.Source(flag)
		for k, v := range given {
			out[k], src[k] = v, from
			have[norm(k)] = true
		}
	}
	for _, p := range file {
		if !have[norm(p.Key)] {
			out[p.Key], src[p.Key] = p.Value, s.fileAt(p.Line)
		}
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, src, nil
}

// Region is the region written into rewritten Dockerfiles: --region (or
// ECRBASE_REGION), else the file's region, else the ambient AWS_REGION or
// AWS_DEFAULT_REGION. A developer's shell must not change what the
// repository's file says, but with no file the variables the SDK reads
// count, in its order, so that rewrite and config agree with build-args and
// mirror.
func (s *Settings) Region() (string, Source) {
	v, src := s.str("region", s.File.Region, "")
	if v == "" && src.Kind == "default" {
		getenv := func(k string) string { v, _ := s.lookupEnv(k); return v }
		if env, from := registry.EnvRegion(getenv); env != "" {
			return env, Source{Kind: "env", Env: from}
		}
	}
	return v, src
}

// ReplicationTo are the destinations of `ecrbase replication`: --to (or
// ECRBASE_REPLICATE_TO) replaces the file's replication.to.
func (s *Settings) ReplicationTo() ([]string, Source) {
	return s.list("to", s.File.ReplicationTo)
}

// Destinations are ReplicationTo parsed. None is a usage error: replication
// has nowhere to replicate to.
func (s *Settings) Destinations() ([]ecr.Destination, error) {
	to, _ := s.ReplicationTo()
	var dests []ecr.Destination
	for _, v := range to {
		d, err := ecr.ParseDestination(v)
		if err != nil {
			return nil, usagef("--to: %v", err)
		}
		dests = append(dests, d)
	}
	if len(dests) == 0 {
		return nil, usagef("replication needs at least one --to REGION[:ACCOUNT], or replication.to in .ecrbase.yaml")
	}
	return dests, nil
}

// Platforms are the platforms mirror copies: --platform, else the file's.
func (s *Settings) Platforms() ([]string, Source) {
	return s.list("platform", s.File.Platforms)
}

// Rewrite returns the options of the commands that name images (images,
// rewrite, mirror, build-args), so that all of them agree.
func (s *Settings) Rewrite() (rewrite.Options, error) {
	f := s.File
	var opts rewrite.Options
	var err error
	if opts.BuildArgs, _, err = s.pairs("build-arg", f.BuildArgs, nil); err != nil {
		return opts, err
	}
	if opts.Prefixes, _, err = s.pairs("prefix", f.Prefixes, registry.Normalize); err != nil {
		return opts, err
	}
	opts.Account = s.given.str("account")
	opts.AccountArg, _ = s.str("account-arg", f.AccountArg, registry.DefaultAccountArg)
	opts.RegionArg, _ = s.str("region-arg", f.RegionArg, registry.DefaultRegionArg)
	opts.Region, _ = s.Region()
	opts.Exclude, _ = s.list("exclude", f.Exclude)
	opts.Only, _ = s.list("only", f.Only)
	syntax, _ := s.str("syntax", f.Syntax, string(rewrite.SyntaxKeep))
	opts.Syntax = rewrite.SyntaxMode(syntax)
	onbuild, _ := s.str("onbuild", f.OnBuild, string(rewrite.OnBuildKeep))
	opts.OnBuild = rewrite.OnBuildMode(onbuild)
	opts.Strict, _ = s.boolean("strict", f.Strict, false)
	return opts, nil
}

// Ignore returns the patterns of Dockerfiles that discovery skips: the
// file's ignore: (relative to the file) and --ignore (relative to the
// working directory).
func (s *Settings) Ignore() (*rewrite.Ignore, error) {
	ig := &rewrite.Ignore{}
	if s.File.Ignore.Set() {
		if err := ig.Add(s.File.Dir, s.File.Ignore.V...); err != nil {
			return nil, err
		}
	}
	if err := ig.Add(".", s.given[("ignore")].Values...); err != nil {
		return nil, usagef("--ignore: %v", err)
	}
	return ig, nil
}

// lifecyclePolicy reads the lifecycle policy in effect, from
// --lifecycle-policy or the file, and checks it; "" when none is set.
func (s *Settings) lifecyclePolicy() (string, error) {
	if s.given.Has("lifecycle-policy") {
		path := s.given.str("lifecycle-policy")
		if path == "" {
			return "", nil
		}
		policy, err := ReadPolicy(path)
		if err != nil {
			return "", fmt.Errorf("--lifecycle-policy %s: %w", path, err)
		}
		return policy, nil
	}
	if !s.File.LifecyclePolicy.Set() {
		return "", nil
	}
	policy, err := ReadPolicy(s.File.LifecyclePolicy.V)
	if err != nil {
		return "", &Error{File: s.File.Path, Line: s.File.LifecyclePolicy.Line, Err: fmt.Errorf("repository.lifecycle_policy %s: %w", s.File.LifecyclePolicy.V, err)}
	}
	return policy, nil
}
