package main

import (
	"encoding/json"
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
	"ecrbase/internal/testenv"
	"ecrbase/rewrite"
	"ecrbase/settings"
)

// isolate gives a CLI test a clean slate: none of the environment
// variables that flags read.
func isolate(t *testing.T) {
	t.Helper()
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
// the commands would use: the settings' rewrite options for naming, and
// mirrorOptions() applied to an ecr.Options for mirroring.
func probe(t *testing.T, args ...string) (rewrite.Options, ecr.Options, error) {
	t.Helper()
	var ro rewrite.Options
	var mo ecr.Options
	mirror, _ := settings.CommandSpec("mirror")
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	app.Commands = append(slices.Clone(app.Commands), &cli.Command{
		Name:  "probe",
		Flags: command(mirror).Flags,
		Action: func(c *cli.Context) error {
			s, err := current(c)
			if err != nil {
				return err
			}
			if ro, err = s.Rewrite(); err != nil {
				return err
			}
			opts, err := mirrorOptions(c, s)
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

// setting is a row of `ecrbase config --json`: one effective value and
// where it came from, the source's fields beside the value.
type setting struct {
	Name  string `json:"name"`
	Key   string `json:"key,omitempty"`
	Value any    `json:"value"`
	source
}

type source = settings.Source

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
