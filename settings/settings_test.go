package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// noEnv is an environment with nothing set.
func noEnv(string) (string, bool) { return "", false }

// env is an environment holding vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func parse(t *testing.T, yaml string) *File {
	t.Helper()
	f, err := Parse(".ecrbase.yaml", t.TempDir(), []byte(yaml))
	if err != nil {
		t.Fatalf("Parse(%q) = %v", yaml, err)
	}
	return f
}

// applied is what the ecr options of s set.
func applied(t *testing.T, s *Settings) ecr.Options {
	t.Helper()
	opts, err := s.ECR()
	if err != nil {
		t.Fatalf("ECR() = %v", err)
	}
	var o ecr.Options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func row(t *testing.T, s *Settings, name, key string) Row {
	t.Helper()
	rows, err := s.Rows()
	if err != nil {
		t.Fatalf("Rows() = %v", err)
	}
	for _, r := range rows {
		if r.Name == name && r.Key == key {
			return r
		}
	}
	t.Fatalf("Rows() has no %s[%s]", name, key)
	return Row{}
}

// TestResolveLayers checks flag > environment > file > default for each
// kind of setting, in the options and in the rows with their sources.
func TestResolveLayers(t *testing.T) {
	t.Parallel()
	const file = "version: 1\naccount_arg: FileAccount\nplatforms: [linux/arm64]\nstrict: true\n" +
		"prefixes:\n  docker.io: hub\n  quay.io: quay\nrepository:\n  tag_mutability: immutable\n"
	f := func(t *testing.T) *File { return parse(t, file) }
	cases := []struct {
		name       string
		given      Given
		row        string
		key        string
		want       any
		wantSource Source
		got        func(rewrite.Options, ecr.Options) any
	}{
		{"string default", nil, "region_arg", "", "AWS_REGION", Default,
			func(r rewrite.Options, _ ecr.Options) any { return r.RegionArg }},
		{"string file", nil, "account_arg", "", "FileAccount", Source{Kind: "file", File: ".ecrbase.yaml", Line: 2},
			func(r rewrite.Options, _ ecr.Options) any { return r.AccountArg }},
		{"string env", Given{"account-arg": {Values: []string{"EnvAccount"}, Env: "ECRBASE_ACCOUNT_ARG"}}, "account_arg", "", "EnvAccount", Source{Kind: "env", Env: "ECRBASE_ACCOUNT_ARG"},
			func(r rewrite.Options, _ ecr.Options) any { return r.AccountArg }},
		{"string flag", Given{"account-arg": {Values: []string{"FlagAccount"}}}, "account_arg", "", "FlagAccount", Source{Kind: "flag", Flag: "--account-arg"},
			func(r rewrite.Options, _ ecr.Options) any { return r.AccountArg }},
		{"bool file", nil, "strict", "", true, Source{Kind: "file", File: ".ecrbase.yaml", Line: 4},
			func(r rewrite.Options, _ ecr.Options) any { return r.Strict }},
		{"bool flag false", Given{"strict": {Values: []string{"false"}}}, "strict", "", false, Source{Kind: "flag", Flag: "--strict"},
			func(r rewrite.Options, _ ecr.Options) any { return r.Strict }},
		{"bool default true", nil, "repository.scan_on_push", "", true, Default,
			func(_ rewrite.Options, m ecr.Options) any { return m.ScanOnPush }},
		{"list file", nil, "platforms", "", []string{"linux/arm64"}, Source{Kind: "file", File: ".ecrbase.yaml", Line: 3},
			func(_ rewrite.Options, m ecr.Options) any { return m.Platforms }},
		{"list flag replaces, split at commas", Given{"platform": {Values: []string{"linux/amd64,linux/arm64/v8", "linux/s390x"}}}, "platforms", "",
			[]string{"linux/amd64", "linux/arm64/v8", "linux/s390x"}, Source{Kind: "flag", Flag: "--platform"},
			func(_ rewrite.Options, m ecr.Options) any { return m.Platforms }},
		{"mapping key from flag", Given{"prefix": {Values: []string{"index.docker.io=flaghub"}}}, "prefixes", "index.docker.io", "flaghub", Source{Kind: "flag", Flag: "--prefix"},
			func(r rewrite.Options, _ ecr.Options) any {
				return r.Prefixes["index.docker.io"] + "," + r.Prefixes["docker.io"]
			}},
		{"mapping key kept from file", Given{"prefix": {Values: []string{"docker.io=flaghub"}}}, "prefixes", "quay.io", "quay", Source{Kind: "file", File: ".ecrbase.yaml", Line: 7},
			func(r rewrite.Options, _ ecr.Options) any { return r.Prefixes["quay.io"] }},
		{"file value normalised", nil, "repository.tag_mutability", "", "IMMUTABLE", Source{Kind: "file", File: ".ecrbase.yaml", Line: 9},
			func(_ rewrite.Options, m ecr.Options) any { return m.TagMutability }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Resolve(f(t), tc.given, noEnv)
			r := row(t, s, tc.row, tc.key)
			if diff := cmp.Diff(tc.want, r.Value); diff != "" {
				t.Errorf("Rows() %s[%s] value (-want +got):\n%s", tc.row, tc.key, diff)
			}
			if r.Source != tc.wantSource {
				t.Errorf("Rows() %s[%s] source = %+v, want %+v", tc.row, tc.key, r.Source, tc.wantSource)
			}
			ro, err := s.Rewrite()
			if err != nil {
				t.Fatal(err)
			}
			got := tc.got(ro, applied(t, s))
			want := tc.want
			if tc.name == "mapping key from flag" {
				// The flag's index.docker.io replaces the file's docker.io.
				want = "flaghub,"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegionOrder: --region, then the file, then AWS_REGION, then
// AWS_DEFAULT_REGION for what rewrite writes; ecr gets only the first two
// and lets the SDK read the environment.
func TestRegionOrder(t *testing.T) {
	t.Parallel()
	both := env(map[string]string{"AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "ap-south-1"})
	def := env(map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"})
	for _, tc := range []struct {
		name       string
		file       string
		given      Given
		env        func(string) (string, bool)
		want, ecr  string
		wantSource Source
	}{
		{"none", "version: 1\n", nil, noEnv, "", "", Default},
		{"AWS_DEFAULT_REGION alone", "version: 1\n", nil, def, "ap-south-1", "", Source{Kind: "env", Env: "AWS_DEFAULT_REGION"}},
		{"AWS_REGION first", "version: 1\n", nil, both, "eu-north-1", "", Source{Kind: "env", Env: "AWS_REGION"}},
		{"file over environment", "version: 1\nregion: us-east-2\n", nil, both, "us-east-2", "us-east-2", Source{Kind: "file", File: ".ecrbase.yaml", Line: 2}},
		{"flag over file", "version: 1\nregion: us-east-2\n", Given{"region": {Values: []string{"sa-east-1"}}}, both, "sa-east-1", "sa-east-1", Source{Kind: "flag", Flag: "--region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Resolve(parse(t, tc.file), tc.given, tc.env)
			got, src := s.Region()
			if got != tc.want || src != tc.wantSource {
				t.Errorf("Region() = %q, %+v; want %q, %+v", got, src, tc.want, tc.wantSource)
			}
			if m := applied(t, s); m.Region != tc.ecr {
				t.Errorf("ECR() region = %q, want %q", m.Region, tc.ecr)
			}
		})
	}
}

// TestECRRefuses: what mirror would refuse is refused when the options are
// built, before any repository exists, each with the place to fix.
func TestECRRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rules": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		file  string
		given Given
		want  string
		usage bool
	}{
		{"contradicting content flags", "version: 1\n", Given{"content-source": {Values: []string{"docker.io=https://mirror.gcr.io"}}, "no-content-sources": {Values: []string{"true"}}},
			"--content-source and --no-content-sources contradict each other", true},
		{"content source without URL", "version: 1\n", Given{"content-source": {Values: []string{"docker.io"}}},
			`--content-source "docker.io": want REGISTRY=URL`, true},
		{"mirror flag without URL", "version: 1\n", Given{"registry-mirror": {Values: []string{"https://u:pw@x"}}},
			`--registry-mirror "https://[redacted]@x": want KEY=VALUE`, true},
		{"missing policy flag", "version: 1\n", Given{"lifecycle-policy": {Values: []string{filepath.Join(dir, "none.json")}}},
			"--lifecycle-policy " + filepath.Join(dir, "none.json") + ": no such file", false},
		{"broken policy flag", "version: 1\n", Given{"lifecycle-policy": {Values: []string{bad}}},
			"--lifecycle-policy " + bad + ":", false},
		{"broken policy in file", "version: 1\nrepository:\n  lifecycle_policy: " + bad + "\n", nil,
			".ecrbase.yaml:3: repository.lifecycle_policy " + bad + ":", false},
		{"plain HTTP mirror in file", "version: 1\nregistry_mirrors:\n  docker.io: http://mirror.example.com\n", nil,
			".ecrbase.yaml:3: registry_mirrors.docker.io:", false},
		{"bad fail-on", "version: 1\n", Given{"fail-on": {Values: []string{"SOMETIMES"}}}, `fail-on severity "SOMETIMES"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Resolve(parse(t, tc.file), tc.given, noEnv).ECR()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("ECR() = %v, want %q", err, tc.want)
			}
			if errors.Is(err, ErrUsage) != tc.usage {
				t.Errorf("ECR() = %v: errors.Is(ErrUsage) = %v, want %v", err, !tc.usage, tc.usage)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("ECR() = %v: the password is printed", err)
			}
		})
	}
}

// TestECRInsecureRegistries: a plain-HTTP mirror in the file is allowed by
// the insecure registries in effect, a comma-separated flag included, and
// the flag's hosts reach ecr one by one.
func TestECRInsecureRegistries(t *testing.T) {
	t.Parallel()
	f := parse(t, "version: 1\nregistry_mirrors:\n  docker.io: http://mirror.example.com\n")
	s := Resolve(f, Given{"insecure-registry": {Values: []string{"other.example.com,mirror.example.com"}}}, noEnv)
	m := applied(t, s)
	if want := []string{"other.example.com", "mirror.example.com"}; !cmp.Equal(m.Insecure, want) {
		t.Errorf("ECR() insecure = %q, want %q", m.Insecure, want)
	}
	if m.Mirrors["docker.io"] != "http://mirror.example.com" {
		t.Errorf("ECR() mirrors = %v, want the file's", m.Mirrors)
	}
}

// TestContentSources: the flag replaces the file's, --no-content-sources
// turns off both, and with neither (or --no-content-sources=false) the
// file's apply; config shows what mirror uses.
func TestContentSources(t *testing.T) {
	t.Parallel()
	const file = "version: 1\ncontent_sources:\n  index.docker.io: [https://a.example/docker, https://b.example/docker]\n"
	for _, tc := range []struct {
		name   string
		given  Given
		want   map[string][]string
		noneOn bool
		source Source
	}{
		{"file", nil, map[string][]string{"docker.io": {"https://a.example/docker", "https://b.example/docker"}}, false, Source{Kind: "file", File: ".ecrbase.yaml", Line: 3}},
		{"flag", Given{"content-source": {Values: []string{"docker.io=https://c.example"}}}, map[string][]string{"docker.io": {"https://c.example"}}, false, Source{Kind: "flag", Flag: "--content-source"}},
		{"not off", Given{"no-content-sources": {Values: []string{"false"}, Env: "ECRBASE_NO_CONTENT_SOURCES"}},
			map[string][]string{"docker.io": {"https://a.example/docker", "https://b.example/docker"}}, false, Source{Kind: "file", File: ".ecrbase.yaml", Line: 3}},
		{"off", Given{"no-content-sources": {Values: []string{"true"}, Env: "ECRBASE_NO_CONTENT_SOURCES"}}, nil, true, Source{Kind: "env", Env: "ECRBASE_NO_CONTENT_SOURCES"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Resolve(parse(t, file), tc.given, noEnv)
			m := applied(t, s)
			if !cmp.Equal(m.ContentSources, tc.want) || m.NoContentSources != tc.noneOn {
				t.Errorf("ECR() content sources = %v (off %v), want %v (off %v)", m.ContentSources, m.NoContentSources, tc.want, tc.noneOn)
			}
			rows, err := s.Rows()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Name == "content_sources" && r.Source != tc.source {
					t.Errorf("Rows() content_sources[%s] source = %+v, want %+v", r.Key, r.Source, tc.source)
				}
			}
		})
	}
}

// TestBuildArgFromEnvironment: a bare --build-arg NAME takes its value from
// the environment given, as docker build does.
func TestBuildArgFromEnvironment(t *testing.T) {
	t.Parallel()
	s := Resolve(parse(t, "version: 1\nbuild_args:\n  PY: \"3.11\"\n  NODE: \"20\"\n"),
		Given{"build-arg": {Values: []string{"PY"}}}, env(map[string]string{"PY": "3.13"}))
	o, err := s.Rewrite()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"PY": "3.13", "NODE": "20"}; !cmp.Equal(o.BuildArgs, want) {
		t.Errorf("Rewrite() build args = %v, want %v", o.BuildArgs, want)
	}
	if err := CheckBuildArgFlag("MISSING", noEnv); err == nil || !strings.Contains(err.Error(), "MISSING is not set") {
		t.Errorf("CheckBuildArgFlag(MISSING) = %v, want it unset", err)
	}
}

// TestIgnore: the file's patterns are relative to the file, the flag's to
// the working directory, and a bad flag pattern is a usage error.
func TestIgnore(t *testing.T) {
	t.Parallel()
	f, err := Parse(".ecrbase.yaml", "/repo", []byte("version: 1\nignore: [templates/]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ig, err := Resolve(f, nil, noEnv).Ignore()
	if err != nil {
		t.Fatal(err)
	}
	if !ig.Match("/repo/templates/Dockerfile", false) || ig.Match("/elsewhere/templates/Dockerfile", false) {
		t.Errorf("Ignore() of the file's templates/ does not match below /repo only")
	}
	_, err = Resolve(f, Given{"ignore": {Values: []string{"Dockerfile.[ab"}}}, noEnv).Ignore()
	if !errors.Is(err, ErrUsage) || !strings.HasPrefix(err.Error(), "--ignore: ") {
		t.Errorf("Ignore() with a bad --ignore = %v, want a usage error", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://u:pw@mirror.example.com/docker": "https://[redacted]@mirror.example.com/docker",
		"docker.io=https://tok@m.example":        "docker.io=https://[redacted]@m.example",
		"https://mirror.example.com/a@b":         "https://mirror.example.com/a@b",
		"u:pw@host":                              "[redacted]@host",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
