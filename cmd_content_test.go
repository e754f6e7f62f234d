package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestContentSourceSettings: --content-source (in order) beats
// ECRBASE_CONTENT_SOURCE, which beats content_sources in the file; an empty
// mapping in the file or --no-content-sources turns them off; nothing set
// leaves the defaults to the mirror (nil).
func TestContentSourceSettings(t *testing.T) {
	file := `version: 1
content_sources:
  docker.io: [https://file-one.example/docker, https://file-two.example]
  quay.io: https://quay-copy.example
`
	for _, tc := range []struct {
		name string
		file string
		env  string
		args []string
		want map[string][]string
		off  bool
	}{
		{name: "nothing set", want: nil},
		{name: "file", file: file, want: map[string][]string{
			"docker.io": {"https://file-one.example/docker", "https://file-two.example"},
			"quay.io":   {"https://quay-copy.example"},
		}},
		{name: "file off", file: "version: 1\ncontent_sources: {}\n", want: map[string][]string{}},
		{name: "env beats file", file: file, env: "docker.io=https://env.example", want: map[string][]string{"docker.io": {"https://env.example"}}},
		{name: "flags in order", file: file, env: "docker.io=https://env.example",
			args: []string{"--content-source", "index.docker.io=https://b.example", "--content-source", "docker.io=https://a.example"},
			want: map[string][]string{"docker.io": {"https://b.example", "https://a.example"}}},
		{name: "no-content-sources", file: file, args: []string{"--no-content-sources"}, want: nil, off: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			files := map[string]string{}
			if tc.file != "" {
				files[".ecrbase.yaml"] = tc.file
			}
			newRepo(t, files)
			if tc.env != "" {
				t.Setenv("ECRBASE_CONTENT_SOURCE", tc.env)
			}
			_, mo, err := probe(t, append([]string{"probe"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(mo.ContentSources, tc.want) || mo.NoContentSources != tc.off {
				t.Errorf("content sources = %#v (off %t), want %#v (off %t)", mo.ContentSources, mo.NoContentSources, tc.want, tc.off)
			}
		})
	}
}

// TestContentSourceTimeout: --timeout (or ECRBASE_TIMEOUT) bounds the
// content sources too; unset, the library's own default applies.
func TestContentSourceTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{name: "unset", want: 0},
		{name: "flag", args: []string{"--timeout", "3s"}, want: 3 * time.Second},
		{name: "env", env: "45s", want: 45 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			newRepo(t, nil)
			if tc.env != "" {
				t.Setenv("ECRBASE_TIMEOUT", tc.env)
			}
			_, mo, err := probe(t, append([]string{"probe"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if mo.ContentTimeout != tc.want {
				t.Errorf("content timeout = %s, want %s", mo.ContentTimeout, tc.want)
			}
		})
	}
}

// TestContentSourceErrors: a bad setting is one line naming the file and
// line, or the flag.
func TestContentSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		args       []string
		want       string
	}{
		{name: "not a mapping", file: "version: 1\ncontent_sources: [https://x.example]\n", want: ".ecrbase.yaml:2: content_sources: want a mapping"},
		{name: "bad URL", file: "version: 1\ncontent_sources:\n  docker.io:\n    - https://ok.example\n    - mirror.gcr.io\n", want: ".ecrbase.yaml:5: content_sources.docker.io: \"mirror.gcr.io\": want a URL"},
		{name: "flag without URL", args: []string{"--content-source", "docker.io"}, want: "--content-source \"docker.io\": want REGISTRY=URL"},
		{name: "flag bad URL", args: []string{"--content-source", "docker.io=ftp://x"}, want: `--content-source "docker.io=ftp://x": "ftp://x": want a URL`},
		{name: "contradiction", args: []string{"--content-source", "docker.io=https://x.example", "--no-content-sources"}, want: "contradict"},
		// Credentials in a content source URL are refused, and not echoed.
		{name: "flag with user:password", args: []string{"--content-source", "docker.io=https://cu:c0ntent-pa55@x.example"}, want: "--content-source docker.io=https://[redacted]@x.example: a user name in the URL"},
		{name: "flag with a token as the user", args: []string{"--content-source", "docker.io=https://c0ntent-pa55@x.example"}, want: "a user name in the URL"},
		{name: "flag bad URL with user:password", args: []string{"--content-source", "docker.io=ftp://cu:c0ntent-pa55@x.example"}, want: "want a URL"},
		{name: "file with user:password", file: "version: 1\ncontent_sources:\n  docker.io: [\"ftp://cu:c0ntent-pa55@x.example\"]\n", want: "looks like a credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			files := map[string]string{"Dockerfile": "FROM alpine:3.20\n"}
			if tc.file != "" {
				files[".ecrbase.yaml"] = tc.file
			}
			newRepo(t, files)
			// Should a case get past its error, it still reaches nothing
			// off this machine.
			for k, v := range map[string]string{"AWS_ENDPOINT_URL_ECR": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
				"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
				t.Setenv(k, v)
			}
			args := append([]string{"mirror", "--dry-run", "--region", "us-east-1", "--registry-mirror", "docker.io=http://127.0.0.1:1"}, tc.args...)
			code, _, errOut := ecrbase(t, "", append(args, ".")...)
			if code == exitOK || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Errorf("mirror %q = %d, stderr %q; want an error with %q", tc.args, code, errOut, tc.want)
			}
			if strings.Contains(errOut, "c0ntent-pa55") {
				t.Errorf("mirror %q printed the credential: %q", tc.args, errOut)
			}
		})
	}
}

// TestConfigShowsContentSources: `ecrbase config` shows the defaults, and
// none for a registry read through a mirror.
func TestConfigShowsContentSources(t *testing.T) {
	isolate(t)
	newRepo(t, nil)
	got := configOutput(t)
	if s, ok := got.find("content_sources", "docker.io"); !ok || !reflect.DeepEqual(s.Value, []any{"https://public.ecr.aws/docker", "https://mirror.gcr.io"}) {
		t.Errorf("content_sources[docker.io] = %+v, want the defaults", s)
	}
	got = configOutput(t, "--registry-mirror", "docker.io=https://artifactory.example.com/hub")
	if s, ok := got.find("content_sources", ""); !ok || s.source.Kind != "default" {
		t.Errorf("with a docker.io mirror: content_sources = %+v, want {} by default", s)
	}
	if _, ok := got.find("content_sources", "docker.io"); ok {
		t.Error("with a docker.io mirror the defaults are still shown for docker.io")
	}
}
