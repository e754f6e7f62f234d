package settings

import (
	"slices"
	"strings"
	"testing"
)

// TestCommandsDeclared: each command's flags are unique, each has its own
// environment variable, and each default is a value the flag's own rules
// accept, so that the help never shows a default the command would refuse.
func TestCommandsDeclared(t *testing.T) {
	t.Parallel()
	for _, cmd := range Commands() {
		seen := map[string]bool{}
		var names []string
		for _, f := range cmd.Flags {
			names = append(names, f.Name)
		}
		for _, f := range cmd.Flags {
			if seen[f.Name] || (f.Alias != "" && seen[f.Alias]) {
				t.Errorf("%s: --%s declared twice", cmd.Name, f.Name)
			}
			seen[f.Name], seen[f.Alias] = true, f.Alias != ""
			if env := f.EnvVars(); !strings.HasPrefix(env[0], "ECRBASE_") {
				t.Errorf("%s --%s: environment variable %q, want ECRBASE_...", cmd.Name, f.Name, env[0])
			}
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no help", cmd.Name, f.Name)
			}
			if f.Value == "" {
				continue
			}
			g := Given{f.Name: {Values: []string{f.Value}}}
			if err := Check(cmd.Name, names, g, noEnv); err != nil {
				t.Errorf("%s --%s: its default %q is refused: %v", cmd.Name, f.Name, f.Value, err)
			}
		}
	}
}

// TestConfigTakesFileFlags: config declares mirror's flag for every
// setting the file and mirror share, with mirror's environment variable.
func TestConfigTakesFileFlags(t *testing.T) {
	t.Parallel()
	config, ok := CommandSpec("config")
	if !ok {
		t.Fatal("no config command")
	}
	mirror, _ := CommandSpec("mirror")
	for _, name := range fileFlags {
		i := slices.IndexFunc(config.Flags, func(s Spec) bool { return s.Name == name })
		j := slices.IndexFunc(mirror.Flags, func(s Spec) bool { return s.Name == name })
		if i < 0 || j < 0 {
			t.Errorf("--%s: in config %t, in mirror %t; want both", name, i >= 0, j >= 0)
			continue
		}
		if !slices.Equal(config.Flags[i].EnvVars(), mirror.Flags[j].EnvVars()) {
			t.Errorf("--%s: config reads %v, mirror %v", name, config.Flags[i].EnvVars(), mirror.Flags[j].EnvVars())
		}
	}
	if _, ok := CommandSpec("mirorr"); ok {
		t.Error(`CommandSpec("mirorr") found a command`)
	}
}

// TestKinds: the number and duration rules follow the declared kinds.
func TestKinds(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Kind{"jobs": Int, "head-jobs": Int, "timeout": Duration, "max-wait": Duration, "platform": List, "region": Text, "images-from": Path, "nonesuch": Text} {
		if got := kindOf(name); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", name, got, want)
		}
	}
	if err := Check("mirror", []string{"head-jobs"}, Given{"head-jobs": {Values: []string{"0"}}}, noEnv); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("--head-jobs 0: %v, want at least 1", err)
	}
}

// TestSet: a flag's values came from its environment variable when they
// are that variable's, read as the flag's kind; otherwise from the command
// line, which replaces the variable.
func TestSet(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ECRBASE_PLATFORM":     "linux/amd64, linux/arm64",
		"ECRBASE_STRICT":       "1",
		"ECRBASE_WAIT":         "",
		"AWS_ACCOUNT_ID":       "123456789012",
		"ECRBASE_ONBUILD":      "keep",
		"ECRBASE_REPLICATE_TO": "eu-west-1",
		"ECRBASE_CONFIG":       "ci.yaml",
		"ECRBASE_EXCLUDE":      "a,b",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := Set(map[string][]string{
		"platform": {"linux/amd64", "linux/arm64"},
		"strict":   {"true"},
		"wait":     {"false"},
		"account":  {"123456789012"},
		"onbuild":  {"literal"},
		"to":       {"eu-west-1"},
		"config":   {"ci.yaml"},
		"exclude":  {"c"},
		"region":   {"us-east-1"},
	}, lookup)
	want := map[string]string{
		"platform": "ECRBASE_PLATFORM",
		"strict":   "ECRBASE_STRICT",
		"wait":     "ECRBASE_WAIT",
		"account":  "AWS_ACCOUNT_ID",
		"onbuild":  "",
		"to":       "ECRBASE_REPLICATE_TO",
		"config":   "ECRBASE_CONFIG",
		"exclude":  "",
		"region":   "",
	}
	for name, env := range want {
		if got[name].Env != env {
			t.Errorf("Set: --%s came from %q, want %q", name, got[name].Env, env)
		}
	}
}
