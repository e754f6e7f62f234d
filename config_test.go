package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/urfave/cli/v2"

	"ecrbase/ecr"
	regrules "ecrbase/internal/registry"
	"ecrbase/internal/testenv"
	"ecrbase/rewrite"
)

// isolate gives a CLI test a clean slate: no cached configuration, and
// none of the environment variables that flags read.
func isolate(t *testing.T) {
	t.Helper()
	reset := func() {
		configCache.Lock()
		configCache.m = nil
		configCache.Unlock()
	}
	reset()
	t.Cleanup(reset)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ECRBASE_") || strings.HasPrefix(k, "AWS_") || k == "CODEBUILD_BUILD_ARN" ||
			k == "DOCKERHUB_USERNAME" || k == "DOCKERHUB_TOKEN" {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
}

// newRepo makes a git work tree (a directory with .git) holding files, and
// changes into it.
func newRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data, 0o644)
	}
	t.Chdir(dir)
	return dir
}

// probe runs the real flag definitions of mirror and returns the options
// the commands would use: options() for naming, mirrorOptions() applied to
// an ecr.Options for mirroring.
func probe(t *testing.T, args ...string) (rewrite.Options, ecr.Options, error) {
	t.Helper()
	var ro rewrite.Options
	var mo ecr.Options
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	app.Commands = append(slices.Clone(app.Commands), &cli.Command{
		Name:  "probe",
		Flags: mirrorCommand().Flags,
		Action: func(c *cli.Context) error {
			var err error
			if ro, err = options(c); err != nil {
				return err
			}
			opts, err := mirrorOptions(c)
			if err != nil {
				return err
			}
			for _, o := range opts {
				o(&mo)
			}
			return nil
		},
	})
	err := app.Run(append([]string{"ecrbase"}, args...))
	return ro, mo, err
}

type configJSON struct {
	File     *string   `json:"file"`
	Settings []setting `json:"settings"`
}

// configOutput runs `ecrbase config --json` and returns its settings.
func configOutput(t *testing.T, args ...string) configJSON {
	t.Helper()
	code, out, errOut := ecrbase(t, "", append([]string{"config", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("config --json %q = %d, stderr %q", args, code, errOut)
	}
	var got configJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("config --json is not JSON: %v\n%s", err, out)
	}
	return got
}

func (c configJSON) find(name, key string) (setting, bool) {
	for _, s := range c.Settings {
		if s.Name == name && s.Key == key {
			return s, true
		}
	}
	return setting{}, false
}

// TestConfigPrecedence checks, field by field, that a flag beats its
// environment variable, which beats the file, which beats the built-in
// default: both in the options the commands use and in what
// `ecrbase config` reports as the source.
func TestConfigPrecedence(t *testing.T) {
	type layer struct {
		file string    // YAML for the field; "" leaves it out
		env  [2]string // name, value
		flag []string
	}
	cases := []struct {
		setting, key string // in `config --json`
		layer
		get  func(rewrite.Options, ecr.Options) string
		want [4]string // default, file, env, flag
	}{
		{
			setting: "account_arg",
			layer:   layer{"account_arg: FileAccount", [2]string{"ECRBASE_ACCOUNT_ARG", "EnvAccount"}, []string{"--account-arg", "FlagAccount"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return o.AccountArg },
			want:    [4]string{"AWS_ACCOUNT_ID", "FileAccount", "EnvAccount", "FlagAccount"},
		},
		{
			setting: "region_arg",
			layer:   layer{"region_arg: FileRegion", [2]string{"ECRBASE_REGION_ARG", "EnvRegion"}, []string{"--region-arg", "FlagRegion"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return o.RegionArg },
			want:    [4]string{"AWS_REGION", "FileRegion", "EnvRegion", "FlagRegion"},
		},
		{
			// The ambient AWS_REGION comes after the file: see
			// TestRegionAfterFile.
			setting: "region",
			layer:   layer{"region: eu-west-1", [2]string{"ECRBASE_REGION", "eu-central-1"}, []string{"--region", "us-west-2"}},
			get: func(o rewrite.Options, m ecr.Options) string {
				if o.Region != m.Region {
					return fmt.Sprintf("rewrite %q, mirror %q", o.Region, m.Region)
				}
				return o.Region
			},
			want: [4]string{"", "eu-west-1", "eu-central-1", "us-west-2"},
		},
		{
			setting: "prefixes", key: "docker.io",
			layer: layer{"prefixes: {docker.io: file-hub}", [2]string{"ECRBASE_PREFIX", "docker.io=env-hub"}, []string{"--prefix", "docker.io=flag-hub"}},
			get:   func(o rewrite.Options, _ ecr.Options) string { return o.Prefixes["docker.io"] },
			want:  [4]string{"", "file-hub", "env-hub", "flag-hub"},
		},
		{
			setting: "exclude",
			layer:   layer{"exclude: ['file/*', 'file2']", [2]string{"ECRBASE_EXCLUDE", "env/*"}, []string{"--exclude", "flag/*"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return strings.Join(o.Exclude, " ") },
			want:    [4]string{"", "file/* file2", "env/*", "flag/*"},
		},
		{
			setting: "only",
			layer:   layer{"only: [quay.io]", [2]string{"ECRBASE_ONLY", "ghcr.io"}, []string{"--only", "docker.io"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return strings.Join(o.Only, " ") },
			want:    [4]string{"", "quay.io", "ghcr.io", "docker.io"},
		},
		{
			setting: "syntax",
			layer:   layer{"syntax: literal", [2]string{"ECRBASE_SYNTAX", "keep"}, []string{"--syntax", "literal"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return string(o.Syntax) },
			want:    [4]string{"keep", "literal", "keep", "literal"},
		},
		{
			setting: "onbuild",
			layer:   layer{"onbuild: literal", [2]string{"ECRBASE_ONBUILD", "keep"}, []string{"--onbuild", "literal"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return string(o.OnBuild) },
			want:    [4]string{"keep", "literal", "keep", "literal"},
		},
		{
			setting: "strict",
			layer:   layer{"strict: true", [2]string{"ECRBASE_STRICT", "false"}, []string{"--strict"}},
			get:     func(o rewrite.Options, _ ecr.Options) string { return fmt.Sprint(o.Strict) },
			want:    [4]string{"false", "true", "false", "true"},
		},
		{
			setting: "build_args", key: "PY",
			layer: layer{"build_args: {PY: 3.11}", [2]string{"ECRBASE_BUILD_ARG", "PY=3.12"}, []string{"--build-arg", "PY=3.13"}},
			get:   func(o rewrite.Options, _ ecr.Options) string { return o.BuildArgs["PY"] },
			want:  [4]string{"", "3.11", "3.12", "3.13"},
		},
		{
			setting: "platforms",
			layer:   layer{"platforms: [linux/arm64, linux/arm/v7]", [2]string{"ECRBASE_PLATFORM", "linux/amd64"}, []string{"--platform", "linux/s390x"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return strings.Join(m.Platforms, " ") },
			want:    [4]string{"", "linux/arm64 linux/arm/v7", "linux/amd64", "linux/s390x"},
		},
		{
			setting: "registry_mirrors", key: "docker.io",
			layer: layer{"registry_mirrors: {docker.io: 'https://file.example'}", [2]string{"ECRBASE_REGISTRY_MIRROR", "docker.io=https://env.example"}, []string{"--registry-mirror", "docker.io=https://flag.example"}},
			get:   func(_ rewrite.Options, m ecr.Options) string { return m.Mirrors["docker.io"] },
			want:  [4]string{"", "https://file.example", "https://env.example", "https://flag.example"},
		},
		{
			setting: "insecure_registries",
			layer:   layer{"insecure_registries: ['file.example:5000']", [2]string{"ECRBASE_INSECURE_REGISTRY", "env.example:5000"}, []string{"--insecure-registry", "flag.example:5000"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return strings.Join(m.Insecure, " ") },
			want:    [4]string{"", "file.example:5000", "env.example:5000", "flag.example:5000"},
		},
		{
			setting: "repository.scan_on_push",
			layer:   layer{"repository: {scan_on_push: false}", [2]string{"ECRBASE_SCAN_ON_PUSH", "true"}, []string{"--scan-on-push=false"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return fmt.Sprint(m.ScanOnPush) },
			want:    [4]string{"true", "false", "true", "false"},
		},
		{
			setting: "repository.tag_mutability",
			layer:   layer{"repository: {tag_mutability: immutable}", [2]string{"ECRBASE_TAG_MUTABILITY", "MUTABLE"}, []string{"--tag-mutability", "IMMUTABLE"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return m.TagMutability },
			want:    [4]string{"", "IMMUTABLE", "MUTABLE", "IMMUTABLE"},
		},
		{
			setting: "repository.kms_key",
			layer:   layer{"repository: {kms_key: alias/file}", [2]string{"ECRBASE_KMS_KEY", "alias/env"}, []string{"--kms-key", "alias/flag"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return m.KMSKey },
			want:    [4]string{"", "alias/file", "alias/env", "alias/flag"},
		},
		{
			setting: "repository.tags", key: "team",
			layer: layer{"repository: {tags: {team: file}}", [2]string{"ECRBASE_REPO_TAG", "team=env"}, []string{"--repo-tag", "team=flag"}},
			get:   func(_ rewrite.Options, m ecr.Options) string { return m.RepositoryTags["team"] },
			want:  [4]string{"", "file", "env", "flag"},
		},
		{
			setting: "repository.lifecycle_policy",
			layer:   layer{"repository: {lifecycle_policy: policies/file.json}", [2]string{"ECRBASE_LIFECYCLE_POLICY", "policies/env.json"}, []string{"--lifecycle-policy", "policies/flag.json"}},
			get:     func(_ rewrite.Options, m ecr.Options) string { return m.LifecyclePolicy },
			want:    [4]string{"", `{"from":"file"}`, `{"from":"env"}`, `{"from":"flag"}`},
		},
	}
	layers := []string{"default", "file", "env", "flag"}
	for _, tc := range cases {
		for i, layerName := range layers {
			t.Run(tc.setting+"/"+layerName, func(t *testing.T) {
				isolate(t)
				yaml := "version: 1\n"
				if i >= 1 {
					yaml += tc.file + "\n"
				}
				newRepo(t, map[string]string{
					".ecrbase.yaml":      yaml,
					"policies/file.json": `{"from":"file"}`,
					"policies/env.json":  `{"from":"env"}`,
					"policies/flag.json": `{"from":"flag"}`,
				})
				if i >= 2 {
					t.Setenv(tc.env[0], tc.env[1])
				}
				var flags []string
				if i >= 3 {
					flags = tc.flag
				}

				ro, mo, err := probe(t, append([]string{"probe"}, flags...)...)
				if err != nil {
					t.Fatalf("options: %v", err)
				}
				if got := tc.get(ro, mo); got != tc.want[i] {
					t.Errorf("%s with %s = %q, want %q", tc.setting, layerName, got, tc.want[i])
				}

				out := configOutput(t, flags...)
				s, ok := out.find(tc.setting, tc.key)
				if tc.want[i] == "" && !ok {
					return // an empty mapping has one row without key
				}
				if !ok {
					t.Fatalf("config --json has no %s %s: %+v", tc.setting, tc.key, out.Settings)
				}
				wantSource := source{Kind: layerName}
				switch layerName {
				case "file":
					wantSource.File, wantSource.Line = ".ecrbase.yaml", 2
				case "env":
					wantSource.Env = tc.env[0]
				case "flag":
					wantSource.Flag = strings.SplitN(tc.flag[0], "=", 2)[0]
				}
				if s.source != wantSource {
					t.Errorf("config source of %s with %s = %+v, want %+v", tc.setting, layerName, s.source, wantSource)
				}
			})
		}
	}
}

// TestConfigMappingsMergeByKey: a flag for one key of a mapping leaves the
// file's other keys in force, and registry keys match once normalised.
func TestConfigMappingsMergeByKey(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{".ecrbase.yaml": `version: 1
prefixes:
  docker.io: file-hub
  quay.io: file-quay
build_args:
  PY: "3.11"
  NODE: 20
`})
	ro, _, err := probe(t, "probe", "--prefix", "index.docker.io=flag-hub", "--build-arg", "GO=1.23")
	if err != nil {
		t.Fatal(err)
	}
	wantPrefixes := map[string]string{"index.docker.io": "flag-hub", "quay.io": "file-quay"}
	if diff := cmp.Diff(wantPrefixes, ro.Prefixes); diff != "" {
		t.Errorf("prefixes (-want +got):\n%s", diff)
	}
	wantArgs := map[string]string{"PY": "3.11", "NODE": "20", "GO": "1.23"}
	if diff := cmp.Diff(wantArgs, ro.BuildArgs); diff != "" {
		t.Errorf("build args (-want +got):\n%s", diff)
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		kind       error // nil: no sentinel
		want       string
	}{
		{"typo", "version: 1\n# ARG names\naccount_arg: Account_ID\nregion_arg: Region\n\n# names in ECR\nprefixs:\n  docker.io: hub\n",
			errUnknownField, `.ecrbase.yaml:7: unknown field "prefixs" (did you mean "prefixes"?)`},
		{"nested typo", "version: 1\nrepository:\n  scan_on_psh: true\n", errUnknownField, `.ecrbase.yaml:3: unknown field "repository.scan_on_psh" (did you mean "repository.scan_on_push"?)`},
		{"misplaced", "version: 1\ntag_mutability: IMMUTABLE\n", errUnknownField, `.ecrbase.yaml:2: unknown field "tag_mutability" (it belongs under repository: as repository.tag_mutability)`},
		{"account", "version: 1\naccount: \"123456789012\"\n", errUnknownField, `.ecrbase.yaml:2: unknown field "account": the account is not a file setting`},
		{"version 2", "# settings\nversion: 2\nplatforms: [linux/amd64]\n", errConfigVersion, ".ecrbase.yaml:2: unsupported version 2: this ecrbase reads version 1"},
		{"version string", "version: \"1\"\n", errConfigVersion, ".ecrbase.yaml:1: version must be the number 1, got a string"},
		{"no version", "region: us-east-1\n", errConfigVersion, `.ecrbase.yaml:1: missing "version: 1"`},
		{"empty", "", errConfigVersion, `.ecrbase.yaml: empty file: start it with "version: 1"`},
		{"comments only", "# nothing yet\n", errConfigVersion, `.ecrbase.yaml: empty file`},
		{"bool type", "version: 1\n\nstrict: yes\n", nil, ".ecrbase.yaml:3: strict: want true or false, got a string"},
		{"list type", "version: 1\nplatforms: linux/amd64,linux/arm64\n", nil, ".ecrbase.yaml:2: platforms: want a list"},
		{"mapping type", "version: 1\nprefixes: [docker.io]\n", nil, ".ecrbase.yaml:2: prefixes: want a mapping"},
		{"string type", "version: 1\nregion: 1\n", nil, ".ecrbase.yaml:2: region: want a string, got a number"},
		{"bad region", "version: 1\nregion: Europe\n", nil, `.ecrbase.yaml:2: region: "Europe" is not an AWS region`},
		{"bad arg name", "version: 1\naccount_arg: 1ACCOUNT\n", nil, `.ecrbase.yaml:2: account_arg: "1ACCOUNT" is not a build argument name`},
		{"bad prefix", "version: 1\nprefixes:\n  docker.io: Hub\n", nil, `.ecrbase.yaml:3: prefixes.docker.io: "Hub" is not a valid ECR repository prefix`},
		{"bad pattern", "version: 1\nexclude:\n  - ok/*\n  - '[a'\n", nil, `.ecrbase.yaml:4: exclude: "[a" is not a valid pattern`},
		{"bad platform", "version: 1\nplatforms: [linux]\n", nil, `.ecrbase.yaml:2: platforms: "linux" is not a platform`},
		{"bad mirror", "version: 1\nregistry_mirrors:\n  docker.io: artifactory\n", nil, `.ecrbase.yaml:3: registry_mirrors.docker.io: "artifactory": want a URL`},
		{"bad syntax", "version: 1\nsyntax: rewrite\n", nil, `.ecrbase.yaml:2: syntax: "rewrite": want keep or literal`},
		{"bad mutability", "version: 1\nrepository:\n  tag_mutability: sometimes\n", nil, `.ecrbase.yaml:3: repository.tag_mutability: "sometimes": want MUTABLE or IMMUTABLE`},
		{"reserved tag", "version: 1\nrepository:\n  tags:\n    aws:team: x\n", nil, `.ecrbase.yaml:4: repository.tags.aws:team: tag keys starting with aws: are reserved`},
		{"repeated", "version: 1\nregion: us-east-1\nregion: eu-west-1\n", nil, `.ecrbase.yaml:3: field "region" repeated (first on line 2)`},
		{"repeated key", "version: 1\nbuild_args:\n  A: 1\n  A: 2\n", nil, `.ecrbase.yaml:4: build_args.A repeated (first on line 3)`},
		{"null value", "version: 1\nbuild_args:\n  A:\n", nil, `.ecrbase.yaml:3: build_args.A: want a value`},
		{"not a mapping", "- version: 1\n", nil, ".ecrbase.yaml:1: want a mapping of settings, got a list"},
		{"two documents", "version: 1\n---\nversion: 1\n", nil, ".ecrbase.yaml:2: a second YAML document"},
		{"yaml syntax", "version: 1\nprefixes:\n  docker.io: hub\n quay.io: q\n", nil, ".ecrbase.yaml:3: did not find expected key"},
		{"tab", "version: 1\n\tregion: us-east-1\n", nil, ".ecrbase.yaml:2: found a tab character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(".ecrbase.yaml", "/repo", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("parseConfig(%q) = nil error, want %q", tc.yaml, tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("parseConfig(%q) = %q, want it to start with %q", tc.yaml, err, tc.want)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("parseConfig(%q) = %v, want errors.Is %v", tc.yaml, err, tc.kind)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestConfigErrorStopsEveryCommand: a broken file fails the commands that
// read it with its file:line, instead of being ignored.
func TestConfigErrorStopsEveryCommand(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		".ecrbase.yaml": "version: 1\nprefixs:\n  docker.io: hub\n",
		"Dockerfile":    plain,
	})
	for _, args := range [][]string{
		{"rewrite", "--check", "Dockerfile"},
		{"images", "Dockerfile"},
		{"config"},
		{"mirror", "--dry-run", "Dockerfile"},
		{"build-args", "Dockerfile"},
	} {
		code, out, errOut := ecrbase(t, "", args...)
		want := `ecrbase: .ecrbase.yaml:2: unknown field "prefixs" (did you mean "prefixes"?)` + "\n"
		if code != exitError || errOut != want || out != "" {
			t.Errorf("ecrbase %q = %d, stdout %q, stderr %q; want %d, stderr %q", args, code, out, errOut, exitError, want)
		}
	}
}

func TestConfigRefusesCredentials(t *testing.T) {
	secrets := []struct {
		name, yaml, secret, want string
	}{
		{"token field", "version: 1\ndockerhub_token: abc123\n", "abc123", ".ecrbase.yaml:2: dockerhub_token looks like a credential"},
		{"password field", "version: 1\nregistry_mirrors:\n  docker.io: https://m.example\npassword: hunter2\n", "hunter2", ".ecrbase.yaml:4: password looks like a credential"},
		{"camelCase", "version: 1\nrepository:\n  awsSecretAccessKey: x1\n", "x1", ".ecrbase.yaml:3: repository.awsSecretAccessKey looks like a credential"},
		{"aws key pair", "version: 1\naws_access_key_id: AKIAIOSFODNN7EXAMPLE\n", "AKIAIOSFODNN7EXAMPLE", ".ecrbase.yaml:2: aws_access_key_id looks like a credential"},
		{"api key", "version: 1\nbuild_args:\n  API_KEY: abc\n", "", ".ecrbase.yaml:3: build_args.API_KEY looks like a credential"},
		{"build arg token", "version: 1\nbuild_args:\n  NPM_TOKEN: npm_abc\n", "npm_abc", ".ecrbase.yaml:3: build_args.NPM_TOKEN looks like a credential"},
		{"credentials block", "version: 1\ncredentials:\n  user: me\n", "", ".ecrbase.yaml:2: credentials looks like a credential"},
		{"access key value", "version: 1\nbuild_args:\n  ID: AKIAIOSFODNN7EXAMPLE\n", "AKIAIOSFODNN7EXAMPLE", ".ecrbase.yaml:3: the value of build_args.ID looks like a credential"},
		{"secret key value", "version: 1\nrepository:\n  tags:\n    owner: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "wJalrXUtnFEMI", ".ecrbase.yaml:4: the value of repository.tags.owner looks like a credential"},
		{"docker hub PAT", "version: 1\nbuild_args:\n  HUB: dckr_pat_2b3e36beeb386dfdaacb9b46004\n", "dckr_pat_", ".ecrbase.yaml:3: the value of build_args.HUB looks like a credential"},
		{"password in URL", "version: 1\nregistry_mirrors:\n  docker.io: https://ci:s3cr3t@artifactory.example.com/docker\n", "s3cr3t", ".ecrbase.yaml:3: the value of registry_mirrors.docker.io looks like a credential"},
		{"in a list", "version: 1\nexclude:\n  - ghp_abcdefghijklmnopqrstuvwxyz0123456789\n", "ghp_", ".ecrbase.yaml:3: the value of exclude[0] looks like a credential"},
	}
	for _, tc := range secrets {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(".ecrbase.yaml", "/repo", []byte(tc.yaml))
			if !errors.Is(err, errCredential) {
				t.Fatalf("parseConfig(%q) = %v, want a credential error", tc.yaml, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) {
				t.Errorf("error %q does not start with %q", msg, tc.want)
			}
			for _, where := range []string{"AWS SDK", "DOCKERHUB_USERNAME and DOCKERHUB_TOKEN", "Docker config file"} {
				if !strings.Contains(msg, where) {
					t.Errorf("error %q does not say credentials come from %s", msg, where)
				}
			}
			if tc.secret != "" && strings.Contains(msg, tc.secret) {
				t.Errorf("error %q repeats the credential", msg)
			}
		})
	}

	// Values and names that only resemble credentials are accepted.
	ok := `version: 1
build_args:
  BASE_DIGEST: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  RELEASE_NAME: PaymentsServiceReleaseCandidateBuild2024
  NODE_VERSION: 20
registry_mirrors:
  docker.io: https://ci@artifactory.example.com/docker
repository:
  kms_key: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  tags:
    monkey: business
  lifecycle_policy: ci/ecr/lifecycle-policy.json
`
	_, err := parseConfig(".ecrbase.yaml", "/repo", []byte(ok))
	if err == nil || !strings.Contains(err.Error(), "registry_mirrors.docker.io: a user name in the URL") {
		t.Errorf("a user name without password in a mirror URL: got %v, want it refused as such", err)
	}
	ok = strings.Replace(ok, "ci@", "", 1)
	if _, err := parseConfig(".ecrbase.yaml", "/repo", []byte(ok)); err != nil {
		t.Errorf("parseConfig refused a file without credentials: %v", err)
	}

	// Through the CLI: refused, exit 1, the secret never printed.
	isolate(t)
	newRepo(t, map[string]string{".ecrbase.yaml": "version: 1\nbuild_args:\n  GITHUB_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n", "Dockerfile": plain})
	code, out, errOut := ecrbase(t, "", "rewrite", "--check", "Dockerfile")
	if code != exitError || !strings.Contains(errOut, ".ecrbase.yaml:3: build_args.GITHUB_TOKEN looks like a credential") {
		t.Errorf("rewrite --check with a token in the file = %d, stderr %q", code, errOut)
	}
	if strings.Contains(out+errOut, "ghp_") {
		t.Errorf("the token was printed: %q %q", out, errOut)
	}
}

// TestConfigParsesEveryField reads a file that sets every field.
func TestConfigParsesEveryField(t *testing.T) {
	t.Parallel()
	data := `version: 1
account_arg: Account_ID
region_arg: Region
region: eu-west-1
prefixes:
  docker.io: hub
  quay.io: ""
exclude: ["*/internal/*"]
only: [docker.io, quay.io]
syntax: literal
strict: true
build_args:
  PY: "3.12"
  NODE: 20
platforms: [linux/amd64, linux/arm64]
registry_mirrors:
  docker.io: https://artifactory.example.com/docker-remote
insecure_registries: ["registry.internal:5000"]
ignore: [eng/templates/]
repository:
  scan_on_push: false
  tag_mutability: immutable
  kms_key: alias/ecr
  tags: {team: platform, cost-center: "42"}
  lifecycle_policy: ci/policy.json
`
	got, err := parseConfig(".ecrbase.yaml", "/repo", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &fileConfig{
		Path:               ".ecrbase.yaml",
		Dir:                "/repo",
		AccountArg:         value[string]{"Account_ID", 2},
		RegionArg:          value[string]{"Region", 3},
		Region:             value[string]{"eu-west-1", 4},
		Prefixes:           []pair{{"docker.io", "hub", 6}, {"quay.io", "", 7}},
		Exclude:            value[[]string]{[]string{"*/internal/*"}, 8},
		Only:               value[[]string]{[]string{"docker.io", "quay.io"}, 9},
		Syntax:             value[string]{"literal", 10},
		Strict:             value[bool]{true, 11},
		BuildArgs:          []pair{{"PY", "3.12", 13}, {"NODE", "20", 14}},
		Platforms:          value[[]string]{[]string{"linux/amd64", "linux/arm64"}, 15},
		RegistryMirrors:    []pair{{"docker.io", "https://artifactory.example.com/docker-remote", 17}},
		InsecureRegistries: value[[]string]{[]string{"registry.internal:5000"}, 18},
		Ignore:             value[[]string]{[]string{"eng/templates/"}, 19},
		ScanOnPush:         value[bool]{false, 21},
		TagMutability:      value[string]{"IMMUTABLE", 22},
		KMSKey:             value[string]{"alias/ecr", 23},
		RepositoryTags:     []pair{{"team", "platform", 24}, {"cost-center", "42", 24}},
		LifecyclePolicy:    value[string]{"/repo/ci/policy.json", 25},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(value[string]{}, value[bool]{}, value[[]string]{})); diff != "" {
		t.Errorf("parseConfig (-want +got):\n%s", diff)
	}
}

func TestConfigLookup(t *testing.T) {
	t.Run("from a subdirectory", func(t *testing.T) {
		isolate(t)
		dir := newRepo(t, map[string]string{
			".ecrbase.yaml":               "version: 1\nprefixes: {docker.io: hub}\n",
			"services/api/Dockerfile":     plain,
			"services/api/docs/README.md": "",
		})
		t.Chdir(filepath.Join(dir, "services", "api", "docs"))
		code, out, errOut := ecrbase(t, "", "rewrite", "--region", "us-east-1", "../Dockerfile")
		if code != exitOK || !strings.Contains(out, ".amazonaws.com/hub/library/python:3.7") {
			t.Errorf("rewrite from a subdirectory = %d, %q (stderr %q); want the file's prefix", code, out, errOut)
		}
		if got := configOutput(t).File; got == nil || *got != filepath.Join("..", "..", "..", ".ecrbase.yaml") {
			t.Errorf("config file = %v, want ../../../.ecrbase.yaml", got)
		}
	})
	t.Run("stops at the git root", func(t *testing.T) {
		isolate(t)
		outer := t.TempDir()
		writeFile(t, filepath.Join(outer, ".ecrbase.yaml"), "version: 1\nprefixes: {docker.io: outside}\n", 0o644)
		repo := filepath.Join(outer, "repo")
		writeFile(t, filepath.Join(repo, ".git"), "gitdir: /elsewhere/.git/worktrees/repo\n", 0o644) // a worktree's .git is a file
		writeFile(t, filepath.Join(repo, "app", "Dockerfile"), plain, 0o644)
		t.Chdir(filepath.Join(repo, "app"))
		if got := configOutput(t).File; got != nil {
			t.Errorf("config file = %q, want none: the file above the repository root must not apply", *got)
		}
	})
	t.Run("walks on without git", func(t *testing.T) {
		isolate(t)
		outer := t.TempDir()
		writeFile(t, filepath.Join(outer, ".ecrbase.yml"), "version: 1\n", 0o644)
		t.Chdir(mkdir(t, filepath.Join(outer, "a", "b")))
		if got := configOutput(t).File; got == nil || *got != filepath.Join("..", "..", ".ecrbase.yml") {
			t.Errorf("config file = %v, want ../../.ecrbase.yml", got)
		}
	})
	t.Run("both names", func(t *testing.T) {
		isolate(t)
		newRepo(t, map[string]string{".ecrbase.yaml": "version: 1\n", ".ecrbase.yml": "version: 1\n"})
		code, _, errOut := ecrbase(t, "", "config")
		if code != exitError || !strings.Contains(errOut, ".ecrbase.yaml and ") || !strings.Contains(errOut, "keep one") {
			t.Errorf("config with both files = %d, stderr %q", code, errOut)
		}
	})
	t.Run("explicit", func(t *testing.T) {
		isolate(t)
		newRepo(t, map[string]string{
			".ecrbase.yaml":     "version: 1\nregion: eu-west-1\n",
			"ci/ecrbase.yaml":   "version: 1\nregion: ap-south-1\nrepository: {lifecycle_policy: policy.json}\n",
			"ci/policy.json":    "{}",
			"env/settings.yaml": "version: 1\nregion: sa-east-1\n",
		})
		region := func(args ...string) (string, source) {
			t.Helper()
			out := configOutput(t, args...)
			s, _ := out.find("region", "")
			return fmt.Sprint(s.Value), s.source
		}
		if got, _ := region(); got != "eu-west-1" {
			t.Errorf("region with the nearest file = %q, want eu-west-1", got)
		}
		t.Setenv("ECRBASE_CONFIG", "env/settings.yaml")
		if got, src := region(); got != "sa-east-1" || src.File != "env/settings.yaml" {
			t.Errorf("region with ECRBASE_CONFIG = %q from %v, want sa-east-1 from env/settings.yaml", got, src)
		}
		// The global flag comes before the command; the policy path is
		// relative to the file that names it.
		code, out, errOut := ecrbase(t, "", "--config", "ci/ecrbase.yaml", "config")
		if code != exitOK || !strings.Contains(out, "config file: ci/ecrbase.yaml (flag --config)") ||
			!regexp.MustCompile(`region +ap-south-1 +ci/ecrbase.yaml:2`).MatchString(out) ||
			!regexp.MustCompile(`repository.lifecycle_policy +ci/policy.json +ci/ecrbase.yaml:3`).MatchString(out) {
			t.Errorf("--config ci/ecrbase.yaml config = %d:\n%s%s", code, out, errOut)
		}
		code, _, errOut = ecrbase(t, "", "--config", "missing.yaml", "rewrite", "--check", ".")
		if code != exitError || !strings.Contains(errOut, "reading configuration missing.yaml: no such file or directory") {
			t.Errorf("--config with a missing file = %d, stderr %q", code, errOut)
		}
	})
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConfigCommandOutput(t *testing.T) {
	isolate(t)
	newRepo(t, map[string]string{
		".ecrbase.yaml": `version: 1
account_arg: Account_ID
prefixes:
  docker.io: hub
  quay.io: q
platforms: [linux/amd64]
repository:
  tags: {team: web}
  lifecycle_policy: policy.json
`,
		"policy.json": `{"rules": []}`,
	})
	t.Setenv("AWS_REGION", "eu-north-1")
	code, out, errOut := ecrbase(t, "", "config", "--prefix", "quay.io=quay-mirror", "--strict")
	want := `config file: .ecrbase.yaml
SETTING                      VALUE                                                SOURCE
account_arg                  Account_ID                                           .ecrbase.yaml:2
region_arg                   AWS_REGION                                           default
region                       eu-north-1                                           env AWS_REGION
prefixes[docker.io]          hub                                                  .ecrbase.yaml:4
prefixes[quay.io]            quay-mirror                                          flag --prefix
exclude                      -                                                    default
only                         -                                                    default
syntax                       keep                                                 default
onbuild                      keep                                                 default
strict                       true                                                 flag --strict
build_args                   -                                                    default
platforms                    linux/amd64                                          .ecrbase.yaml:6
registry_mirrors             -                                                    default
insecure_registries          -                                                    default
content_sources[docker.io]   https://public.ecr.aws/docker,https://mirror.gcr.io  default
repository.scan_on_push      true                                                 default
repository.tag_mutability    -                                                    default
repository.kms_key           -                                                    default
repository.tags[team]        web                                                  .ecrbase.yaml:8
repository.lifecycle_policy  policy.json                                          .ecrbase.yaml:9
replication.to               -                                                    default
`
	if code != exitOK || out != want {
		t.Errorf("config = %d (stderr %q), diff (-want +got):\n%s", code, errOut, cmp.Diff(want, out))
	}

	got := configOutput(t, "--prefix", "quay.io=quay-mirror", "--strict")
	if got.File == nil || *got.File != ".ecrbase.yaml" {
		t.Errorf("config --json file = %v, want .ecrbase.yaml", got.File)
	}
	wantJSON := []setting{
		{Name: "account_arg", Value: "Account_ID", source: source{Kind: "file", File: ".ecrbase.yaml", Line: 2}},
		{Name: "region_arg", Value: "AWS_REGION", source: source{Kind: "default"}},
		{Name: "region", Value: "eu-north-1", source: source{Kind: "env", Env: "AWS_REGION"}},
		{Name: "prefixes", Key: "docker.io", Value: "hub", source: source{Kind: "file", File: ".ecrbase.yaml", Line: 4}},
		{Name: "prefixes", Key: "quay.io", Value: "quay-mirror", source: source{Kind: "flag", Flag: "--prefix"}},
		{Name: "exclude", Value: []any{}, source: source{Kind: "default"}},
		{Name: "only", Value: []any{}, source: source{Kind: "default"}},
		{Name: "syntax", Value: "keep", source: source{Kind: "default"}},
		{Name: "onbuild", Value: "keep", source: source{Kind: "default"}},
		{Name: "strict", Value: true, source: source{Kind: "flag", Flag: "--strict"}},
		{Name: "build_args", Value: map[string]any{}, source: source{Kind: "default"}},
		{Name: "platforms", Value: []any{"linux/amd64"}, source: source{Kind: "file", File: ".ecrbase.yaml", Line: 6}},
		{Name: "registry_mirrors", Value: map[string]any{}, source: source{Kind: "default"}},
		{Name: "insecure_registries", Value: []any{}, source: source{Kind: "default"}},
		{Name: "content_sources", Key: "docker.io", Value: []any{"https://public.ecr.aws/docker", "https://mirror.gcr.io"}, source: source{Kind: "default"}},
		{Name: "repository.scan_on_push", Value: true, source: source{Kind: "default"}},
		{Name: "repository.tag_mutability", Value: "", source: source{Kind: "default"}},
		{Name: "repository.kms_key", Value: "", source: source{Kind: "default"}},
		{Name: "repository.tags", Key: "team", Value: "web", source: source{Kind: "file", File: ".ecrbase.yaml", Line: 8}},
		{Name: "repository.lifecycle_policy", Value: "policy.json", source: source{Kind: "file", File: ".ecrbase.yaml", Line: 9}},
		{Name: "replication.to", Value: []any{}, source: source{Kind: "default"}},
	}
	if diff := cmp.Diff(wantJSON, got.Settings, cmp.AllowUnexported(setting{})); diff != "" {
		t.Errorf("config --json settings (-want +got):\n%s", diff)
	}

	// Without a file every value is a default.
	isolate(t)
	newRepo(t, nil)
	code, out, _ = ecrbase(t, "", "config")
	if code != exitOK || !strings.HasPrefix(out, "config file: none") || strings.Contains(out, ".ecrbase.yaml:") {
		t.Errorf("config without a file = %d:\n%s", code, out)
	}
	if got := configOutput(t); got.File != nil {
		t.Errorf("config --json without a file: file = %q, want null", *got.File)
	}
}

// TestConfigExamples checks the examples that hold a .ecrbase.yaml: each is
// laid out as a repository, with the file at its root and Dockerfiles below
// it, each beside the rewritten.txt it must become. Run with no flags, from
// the root and from the Dockerfile's own directory, the rewrite applies the
// file and gives exactly rewritten.txt. (The examples package's golden test
// covers the examples/*/Dockerfile ones with the built-in defaults.)
func TestConfigExamples(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("examples", "*", ".ecrbase.yaml"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no example with a .ecrbase.yaml (%v)", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		dir := filepath.Join(root, filepath.Dir(m))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			isolate(t)
			t.Chdir(dir)
			files, err := rewrite.Discover([]string{"."})
			if err != nil || len(files) == 0 {
				t.Fatalf("no Dockerfile in %s (%v)", dir, err)
			}
			code, out, errOut := ecrbase(t, "", "rewrite", "--check", ".")
			if code != exitChanges || !slices.Equal(checkedFiles(out), files) {
				t.Errorf("rewrite --check . = %d, %q (stderr %q), want 3 listing %q", code, out, errOut, files)
			}
			if code, _, errOut := ecrbase(t, "", "config"); code != exitOK {
				t.Errorf("config = %d, stderr %q", code, errOut)
			}
			for _, df := range files {
				want := readFile(t, filepath.Join(filepath.Dir(df), "rewritten.txt"))
				code, out, errOut := ecrbase(t, "", "rewrite", df)
				if code != exitOK {
					t.Fatalf("rewrite %s = %d, stderr %q", df, code, errOut)
				}
				if diff := cmp.Diff(want, out); diff != "" {
					t.Errorf("rewrite of %s with the example's .ecrbase.yaml differs from rewritten.txt (-want +got):\n%s", df, diff)
				}
				if out == readFile(t, df) {
					t.Errorf("rewrite of %s changed nothing", df)
				}
				// The expected output is itself converted under the same file.
				if code, _, errOut := ecrbase(t, "", "rewrite", "--check", filepath.Join(filepath.Dir(df), "rewritten.txt")); code != exitOK {
					t.Errorf("rewrite --check on %s's rewritten.txt = %d, stderr %q", df, code, errOut)
				}

				// From the Dockerfile's directory the file is found upward.
				t.Chdir(filepath.Join(dir, filepath.Dir(df)))
				code, out, errOut = ecrbase(t, "", "rewrite", filepath.Base(df))
				if code != exitOK || out != want {
					t.Errorf("rewrite from %s = %d (stderr %q), diff (-want +got):\n%s", filepath.Dir(df), code, errOut, cmp.Diff(want, out))
				}
				t.Chdir(dir)
			}
		})
	}
}

// TestConfigRewriteAndMirrorAgree: in a repository whose .ecrbase.yaml sets
// the ARG names, prefixes, region, a build argument and a registry mirror,
// rewrite --check, rewrite and mirror --dry-run run with no flags at all and
// agree on every ECR image. ECR's API is moto_server; the Docker Hub images
// are served by an in-process registry that the file names as docker.io's
// mirror.
func TestConfigRewriteAndMirrorAgree(t *testing.T) {
	moto := testenv.Moto(t)

	var heads atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
			heads.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(hub.Close)
	hubHost := strings.TrimPrefix(hub.URL, "http://")
	for _, ref := range []string{"library/python:3.12-slim", "library/alpine:3.20"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := name.ParseReference(hubHost + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(dst, img); err != nil {
			t.Fatal(err)
		}
	}

	isolate(t)
	newRepo(t, map[string]string{
		".ecrbase.yaml": fmt.Sprintf(`version: 1
account_arg: Account_ID
region_arg: Region
region: eu-west-1
prefixes:
  docker.io: team/hub
build_args:
  PYTHON_VERSION: "3.12"
registry_mirrors:
  docker.io: %s
`, hub.URL),
		"app/Dockerfile": "ARG PYTHON_VERSION\nFROM python:${PYTHON_VERSION}-slim\nCOPY --from=alpine:3.20 /etc/os-release /\n",
	})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_ECR", moto)
	t.Setenv("AWS_ENDPOINT_URL_STS", moto)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("DOCKER_CONFIG", t.TempDir())

	code, out, errOut := ecrbase(t, "", "rewrite", "--check", ".")
	if code != exitChanges || !slices.Equal(checkedFiles(out), []string{filepath.Join("app", "Dockerfile")}) {
		t.Fatalf("rewrite --check . = %d, %q (stderr %q); want 3 listing app/Dockerfile", code, out, errOut)
	}
	code, rewritten, errOut := ecrbase(t, "", "rewrite", "app/Dockerfile")
	if code != exitOK {
		t.Fatalf("rewrite = %d, stderr %q", code, errOut)
	}
	// What the build pulls: the rewritten references with the ARG defaults
	// and the account filled in.
	region := regexp.MustCompile(`(?m)^ARG Region=(\S+)$`).FindStringSubmatch(rewritten)
	if region == nil || !regexp.MustCompile(`(?m)^ARG Account_ID$`).MatchString(rewritten) {
		t.Fatalf("rewritten Dockerfile lacks the file's ARG names and region:\n%s", rewritten)
	}
	var built []string
	for _, m := range regexp.MustCompile(`\$\{Account_ID\}\.dkr\.ecr\.\$\{Region\}\.amazonaws\.com/(\S+)`).FindAllStringSubmatch(rewritten, -1) {
		uri := "123456789012.dkr.ecr." + region[1] + ".amazonaws.com/" + strings.ReplaceAll(m[1], "${PYTHON_VERSION}", "3.12")
		built = append(built, uri)
	}

	code, out, errOut = ecrbase(t, "", "mirror", "--dry-run", "--json", ".")
	var report ecr.Report
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("mirror --dry-run --json = %d, stderr %q; stdout is not a report: %v\n%s", code, errOut, err, out)
	}
	// No test can reach the ECR registry host itself (it is not in DNS), so
	// the plan may fail at its HEAD there, after the source was read; any
	// other failure is a real one.
	if code != exitOK && (code != exitError || report.Failed == 0) {
		t.Fatalf("mirror --dry-run = %d, stderr %q", code, errOut)
	}
	var mirrored []string
	for _, r := range report.Images {
		mirrored = append(mirrored, r.Target)
		if r.Error != "" && (!strings.HasPrefix(r.Error, "ECR side: checking "+r.Target+": ") || r.Status != ecr.TargetFailed) {
			t.Errorf("mirror --dry-run planned %s with an error before reaching ECR: %s", r.Source, r.Error)
		}
	}
	sort.Strings(built)
	sort.Strings(mirrored)
	want := []string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/hub/library/alpine:3.20",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/hub/library/python:3.12-slim",
	}
	if diff := cmp.Diff(want, built); diff != "" {
		t.Errorf("images the rewritten Dockerfile pulls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(built, mirrored); diff != "" {
		t.Errorf("mirror --dry-run targets differ from what the rewrite pulls (-rewrite +mirror):\n%s", diff)
	}
	if report.Region != "eu-west-1" {
		t.Errorf("mirror region = %q, want the file's eu-west-1", report.Region)
	}
	if got := heads.Load(); got < int32(len(want)) {
		t.Errorf("mirror made %d manifest HEADs through the file's registry mirror, want at least one per image (%d)", got, len(want))
	}
}

// BenchmarkReadConfig is what the file costs a command: finding it from a
// directory two levels below the repository root, reading and parsing it.
func BenchmarkReadConfig(b *testing.B) {
	root := b.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("examples", "custom-config", ".ecrbase.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".ecrbase.yaml"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	wd := filepath.Join(root, "services", "api")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cfg, err := readConfig("", wd)
		if err != nil || !cfg.Region.set() {
			b.Fatalf("readConfig = %+v, %v", cfg, err)
		}
	}
}

func TestCredentialValue(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"AKIAIOSFODNN7EXAMPLE":                     true,
		"id=ASIAY34FZKBOKMUTVV7A;":                 true,
		"xAKIAIOSFODNN7EXAMPLE":                    false, // not a word of its own
		"AKIAIOSFODNN7EXAMPLE1":                    false,
		"AKIAiosfodnn7example":                     false,
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": true,
		"dckr_pat_2b3e36beeb386dfdaacb9b46004":     true,
		"token: ghp_abcdefghijklmnop":              true,
		"ghp_short":                                false,
		"myghp_abcdefghijklmnop":                   false,
		"glpat-abcdefgh12345678":                   true,
		"https://user:pw@example.com/v2":           true,
		"https://user@example.com/v2":              false,
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef":     false,
		"PaymentsServiceReleaseCandidateBuild2024":                                    false,
		"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": false,
		"docker.io/library/python:3.12-slim":                                          false,
	} {
		if got := credentialValue(s); got != want {
			t.Errorf("credentialValue(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestConfigValueChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    func(string) bool
		ok   []string
		bad  []string
	}{
		{"ValidArgName", rewrite.ValidArgName, []string{"AWS_ACCOUNT_ID", "Account_ID", "_x", "a1"}, []string{"", "1A", "A-B", "A B", "É"}},
		{"isRegion", isRegion, []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"}, []string{"", "us-east", "Europe", "us-East-1", "useast-1", "us--1", "us-east-1a"}},
		{"registry.CheckHost", func(s string) bool { return regrules.CheckHost(s) == nil }, []string{"docker.io", "registry.example.com:5000", "localhost", "a"}, []string{"", "https://x", "-a.io", "a.io.", "a.io:", "a.io:x", "a/b", "a_b.io"}},
	} {
		for _, s := range tc.ok {
			if !tc.f(s) {
				t.Errorf("%s(%q) = false, want true", tc.name, s)
			}
		}
		for _, s := range tc.bad {
			if tc.f(s) {
				t.Errorf("%s(%q) = true, want false", tc.name, s)
			}
		}
	}
}

// TestRegionAfterFile: a developer's AWS_REGION must not change what the
// repository's .ecrbase.yaml says; with no file, AWS_REGION is the default.
func TestRegionAfterFile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, "FROM python:3.7\n", 0o644)
	t.Chdir(dir)
	t.Setenv("AWS_REGION", "eu-north-1")

	code, out, errOut := ecrbase(t, "", "rewrite", df)
	if code != exitOK || !strings.Contains(out, "ARG AWS_REGION=eu-north-1\n") {
		t.Errorf("no file: rewrite = %d, %q (stderr %q), want the AWS_REGION default", code, out, errOut)
	}
	writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nregion: us-east-1\n", 0o644)
	isolate(t)
	t.Setenv("AWS_REGION", "eu-north-1")
	code, out, errOut = ecrbase(t, "", "rewrite", df)
	if code != exitOK || !strings.Contains(out, "ARG AWS_REGION=us-east-1\n") {
		t.Errorf("with file: rewrite = %d, %q (stderr %q), want the file's region", code, out, errOut)
	}
}
