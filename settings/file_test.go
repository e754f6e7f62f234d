package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		kind       error // nil: no sentinel
		want       string
	}{
		{"typo", "version: 1\n# ARG names\naccount_arg: Account_ID\nregion_arg: Region\n\n# names in ECR\nprefixs:\n  docker.io: hub\n",
			ErrUnknownField, `.ecrbase.yaml:7: unknown field "prefixs" (did you mean "prefixes"?)`},
		{"nested typo", "version: 1\nrepository:\n  scan_on_psh: true\n", ErrUnknownField, `.ecrbase.yaml:3: unknown field "repository.scan_on_psh" (did you mean "repository.scan_on_push"?)`},
		{"misplaced", "version: 1\ntag_mutability: IMMUTABLE\n", ErrUnknownField, `.ecrbase.yaml:2: unknown field "tag_mutability" (it belongs under repository: as repository.tag_mutability)`},
		{"account", "version: 1\naccount: \"123456789012\"\n", ErrUnknownField, `.ecrbase.yaml:2: unknown field "account": the account is not a file setting`},
		{"version 2", "# settings\nversion: 2\nplatforms: [linux/amd64]\n", ErrVersion, ".ecrbase.yaml:2: unsupported version 2: this ecrbase reads version 1"},
		{"version string", "version: \"1\"\n", ErrVersion, ".ecrbase.yaml:1: version must be the number 1, got a string"},
		{"no version", "region: us-east-1\n", ErrVersion, `.ecrbase.yaml:1: missing "version: 1"`},
		{"empty", "", ErrVersion, `.ecrbase.yaml: empty file: start it with "version: 1"`},
		{"comments only", "# nothing yet\n", ErrVersion, `.ecrbase.yaml: empty file`},
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
			_, err := Parse(".ecrbase.yaml", "/repo", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tc.yaml, tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %q, want it to start with %q", tc.yaml, err, tc.want)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("Parse(%q) = %v, want errors.Is %v", tc.yaml, err, tc.kind)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseRefusesCredentials(t *testing.T) {
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
			_, err := Parse(".ecrbase.yaml", "/repo", []byte(tc.yaml))
			if !errors.Is(err, ErrCredential) {
				t.Fatalf("Parse(%q) = %v, want a credential error", tc.yaml, err)
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
	_, err := Parse(".ecrbase.yaml", "/repo", []byte(ok))
	if err == nil || !strings.Contains(err.Error(), "registry_mirrors.docker.io: a user name in the URL") {
		t.Errorf("a user name without password in a mirror URL: got %v, want it refused as such", err)
	}
	ok = strings.Replace(ok, "ci@", "", 1)
	if _, err := Parse(".ecrbase.yaml", "/repo", []byte(ok)); err != nil {
		t.Errorf("Parse refused a file without credentials: %v", err)
	}
}

// TestConfigParsesEveryField reads a file that sets every field.
func TestParseEveryField(t *testing.T) {
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
	got, err := Parse(".ecrbase.yaml", "/repo", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Path:               ".ecrbase.yaml",
		Dir:                "/repo",
		AccountArg:         Value[string]{"Account_ID", 2},
		RegionArg:          Value[string]{"Region", 3},
		Region:             Value[string]{"eu-west-1", 4},
		Prefixes:           []Pair{{"docker.io", "hub", 6}, {"quay.io", "", 7}},
		Exclude:            Value[[]string]{[]string{"*/internal/*"}, 8},
		Only:               Value[[]string]{[]string{"docker.io", "quay.io"}, 9},
		Syntax:             Value[string]{"literal", 10},
		Strict:             Value[bool]{true, 11},
		BuildArgs:          []Pair{{"PY", "3.12", 13}, {"NODE", "20", 14}},
		Platforms:          Value[[]string]{[]string{"linux/amd64", "linux/arm64"}, 15},
		RegistryMirrors:    []Pair{{"docker.io", "https://artifactory.example.com/docker-remote", 17}},
		InsecureRegistries: Value[[]string]{[]string{"registry.internal:5000"}, 18},
		Ignore:             Value[[]string]{[]string{"eng/templates/"}, 19},
		ScanOnPush:         Value[bool]{false, 21},
		TagMutability:      Value[string]{"IMMUTABLE", 22},
		KMSKey:             Value[string]{"alias/ecr", 23},
		RepositoryTags:     []Pair{{"team", "platform", 24}, {"cost-center", "42", 24}},
		LifecyclePolicy:    Value[string]{"/repo/ci/policy.json", 25},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Value[string]{}, Value[bool]{}, Value[[]string]{})); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

// BenchmarkLoad is what the file costs a command: finding it from a
// directory two levels below the repository root, reading and parsing it.
func BenchmarkLoad(b *testing.B) {
	root := b.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "examples", "custom-config", ".ecrbase.yaml"))
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
		cfg, err := Load("", wd)
		if err != nil || !cfg.Region.Set() {
			b.Fatalf("Load = %+v, %v", cfg, err)
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

func TestChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    func(string) bool
		ok   []string
		bad  []string
	}{
		{"ValidArgName", rewrite.ValidArgName, []string{"AWS_ACCOUNT_ID", "Account_ID", "_x", "a1"}, []string{"", "1A", "A-B", "A B", "É"}},
		{"IsRegion", IsRegion, []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"}, []string{"", "us-east", "Europe", "us-East-1", "useast-1", "us--1", "us-east-1a"}},
		{"registry.CheckHost", func(s string) bool { return registry.CheckHost(s) == nil }, []string{"docker.io", "registry.example.com:5000", "localhost", "a"}, []string{"", "https://x", "-a.io", "a.io.", "a.io:", "a.io:x", "a/b", "a_b.io"}},
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
