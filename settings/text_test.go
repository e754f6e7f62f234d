package settings

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const textFile = "version: 1\nregion: eu-west-1\nprefixes:\n  docker.io: hub\nplatforms: [linux/amd64, linux/arm64]\n"

// TestWriteTable checks `ecrbase config`'s table: the file and what named
// it, a row per setting with name[key], a list joined by commas, a dash
// for nothing, and each source.
func TestWriteTable(t *testing.T) {
	t.Parallel()
	file, err := Parse("ci/ecrbase.yaml", "/repo", []byte(textFile))
	if err != nil {
		t.Fatal(err)
	}
	given := Given{
		"config":   {Values: []string{"ci/ecrbase.yaml"}, Env: "ECRBASE_CONFIG"},
		"strict":   {Values: []string{"true"}},
		"repo-tag": {Values: []string{"team=web"}},
	}
	var b strings.Builder
	if err := Resolve(file, given, noEnv).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"config file: ci/ecrbase.yaml (env ECRBASE_CONFIG)",
		"SETTING                      VALUE                                                SOURCE",
		"account_arg                  AWS_ACCOUNT_ID                                       default",
		"region_arg                   AWS_REGION                                           default",
		"region                       eu-west-1                                            ci/ecrbase.yaml:2",
		"prefixes[docker.io]          hub                                                  ci/ecrbase.yaml:4",
		"exclude                      -                                                    default",
		"only                         -                                                    default",
		"syntax                       keep                                                 default",
		"onbuild                      keep                                                 default",
		"strict                       true                                                 flag --strict",
		"build_args                   -                                                    default",
		"platforms                    linux/amd64,linux/arm64                              ci/ecrbase.yaml:5",
		"registry_mirrors             -                                                    default",
		"insecure_registries          -                                                    default",
		"content_sources[docker.io]   https://public.ecr.aws/docker,https://mirror.gcr.io  default",
		"repository.scan_on_push      true                                                 default",
		"repository.tag_mutability    -                                                    default",
		"repository.kms_key           -                                                    default",
		"repository.tags[team]        web                                                  flag --repo-tag",
		"repository.lifecycle_policy  -                                                    default",
		"replication.to               -                                                    default",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTable (-want +got):\n%s", diff)
	}

	// The first line names the file, and the flag that named it.
	for _, tc := range []struct {
		file  *File
		given Given
		want  string
	}{
		{nil, nil, "config file: none (no .ecrbase.yaml from here up to the repository root)\n"},
		{file, nil, "config file: ci/ecrbase.yaml\n"},
		{file, Given{"config": {Values: []string{"ci/ecrbase.yaml"}}}, "config file: ci/ecrbase.yaml (flag --config)\n"},
	} {
		b.Reset()
		if err := Resolve(tc.file, tc.given, noEnv).WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := strings.Cut(b.String(), "SETTING"); got != tc.want {
			t.Errorf("WriteTable with %v: first line %q, want %q", tc.given, got, tc.want)
		}
	}
}

// TestWriteJSON checks `ecrbase config --json`: the file (null when there
// is none), each row's source fields beside its value, a key only for a
// mapping's entry, and two-space indentation.
func TestWriteJSON(t *testing.T) {
	t.Parallel()
	file, err := Parse(".ecrbase.yaml", "/repo", []byte(textFile))
	if err != nil {
		t.Fatal(err)
	}
	given := Given{"prefix": {Values: []string{"quay.io=q"}}, "region": {Values: []string{"us-east-2"}, Env: "ECRBASE_REGION"}}
	var b strings.Builder
	if err := Resolve(file, given, noEnv).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	const head = `{
  "file": ".ecrbase.yaml",
  "settings": [
    {
      "name": "account_arg",
      "value": "AWS_ACCOUNT_ID",
      "source": "default"
    },
    {
      "name": "region_arg",
      "value": "AWS_REGION",
      "source": "default"
    },
    {
      "name": "region",
      "value": "us-east-2",
      "source": "env",
      "env": "ECRBASE_REGION"
    },
    {
      "name": "prefixes",
      "key": "docker.io",
      "value": "hub",
      "source": "file",
      "file": ".ecrbase.yaml",
      "line": 4
    },
    {
      "name": "prefixes",
      "key": "quay.io",
      "value": "q",
      "source": "flag",
      "flag": "--prefix"
    },
    {
      "name": "exclude",
      "value": [],
      "source": "default"
    },
`
	const tail = `
    {
      "name": "replication.to",
      "value": [],
      "source": "default"
    }
  ]
}
`
	got := b.String()
	if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) {
		t.Errorf("WriteJSON =\n%s\nwant it to start with\n%s\nand end with%s", got, head, tail)
	}
	for _, want := range []string{
		"\n    {\n      \"name\": \"platforms\",\n      \"value\": [\n        \"linux/amd64\",\n        \"linux/arm64\"\n      ],\n      \"source\": \"file\",\n      \"file\": \".ecrbase.yaml\",\n      \"line\": 5\n    },\n",
		"\n    {\n      \"name\": \"build_args\",\n      \"value\": {},\n      \"source\": \"default\"\n    },\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("WriteJSON lacks %q:\n%s", want, got)
		}
	}

	b.Reset()
	if err := Resolve(nil, nil, noEnv).WriteJSON(&b); err != nil || !strings.HasPrefix(b.String(), "{\n  \"file\": null,\n") {
		t.Errorf("WriteJSON without a file = %q, %v; want \"file\": null", b.String(), err)
	}
}
