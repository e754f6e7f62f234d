package ecr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-containerregistry/pkg/name"

	"ecrbase/internal/registry"
)

// TestMirrorKeysNormalised: a registry mirror for Docker Hub is used under
// any of Docker Hub's names and in any case, as the configuration file and
// rewrite normalise them; otherwise reads would go to Docker Hub itself and
// spend counted pulls.
func TestMirrorKeysNormalised(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"docker.io", "Docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "REGISTRY.HUB.DOCKER.COM"} {
		mirrors, err := parseMirrors(map[string]string{key: "http://127.0.0.1:5000/hub"}, nil)
		if err != nil {
			t.Fatalf("parseMirrors(%s): %v", key, err)
		}
		for _, ref := range []string{"python:3.7", "docker.io/library/python:3.7", "index.docker.io/library/python:3.7"} {
			s, err := parseSource(ref, mirrors, nil)
			if err != nil {
				t.Fatalf("parseSource(%q): %v", ref, err)
			}
			if got, want := s.read.String(), "127.0.0.1:5000/hub/library/python"; got != want {
				t.Errorf("mirror key %q: %s is read from %s, want %s", key, ref, got, want)
			}
		}
	}
	mirrors, err := parseMirrors(map[string]string{"Quay.io": "https://mirror.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := parseSource("quay.io/org/app:1", mirrors, nil); err != nil || s.read.String() != "mirror.example.com/org/app" {
		t.Errorf("mirror key Quay.io: quay.io/org/app:1 is read from %v (%v), want mirror.example.com/org/app", s.read, err)
	}
}

// TestContentSourceKeysNormalised: a content source for Docker Hub is used
// under any of Docker Hub's names, as a registry mirror is.
func TestContentSourceKeysNormalised(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"docker.io", "Docker.io", "index.docker.io", "registry.hub.docker.com", "REGISTRY.HUB.DOCKER.COM"} {
		o, err := makeOptions(WithContentSource(key, "https://cs.example.com/hub"))
		if err != nil {
			t.Fatalf("content source %s: %v", key, err)
		}
		r := &run{o: o, mirrors: map[string]mirror{}}
		if err := r.contentSetup(); err != nil {
			t.Fatalf("content source %s: %v", key, err)
		}
		got := r.content[name.DefaultRegistry]
		if len(got) != 1 || got[0].m.host != "cs.example.com" || got[0].m.prefix != "hub" {
			t.Errorf("content source key %q: Docker Hub's content sources are %+v, want cs.example.com/hub", key, got)
		}
	}
}

// TestCheckOptions: each bad option is refused with its own message, with
// no AWS or registry call.
func TestCheckOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Option
		want string // in the error; empty for none
	}{
		{"good", WithTagMutability("immutable"), ""},
		{"policy", WithLifecyclePolicy(`{"rules": []}`), ""},
		{"policy not JSON", WithLifecyclePolicy(`{"rules": [`), "lifecycle policy: not a JSON object"},
		{"policy not an object", WithLifecyclePolicy(`[]`), "lifecycle policy: not a JSON object"},
		{"mutability", WithTagMutability("SOMETIMES"), `tag mutability "SOMETIMES": want MUTABLE or IMMUTABLE`},
		{"platform", WithPlatforms("amd64"), `"amd64" is not a platform`},
		{"platform upper case", WithPlatforms("Linux/AMD64"), `"Linux/AMD64" is not a platform`},
		{"ftp mirror", WithRegistryMirror("docker.io", "ftp://mirror.example.com"), "want a URL"},
		{"mirror with user", WithRegistryMirror("docker.io", "https://u:secret@mirror.example.com"), ""},
		{"ftp mirror with user", WithRegistryMirror("docker.io", "ftp://u:secret@mirror.example.com"), "want a URL"},
		{"content source", WithContentSource("Registry.Hub.Docker.com", "https://mirror.example.com"), ""},
		{"content source with user", WithContentSource("docker.io", "https://u:secret@mirror.example.com"), "content sources are read anonymously"},
		{"http content source", WithContentSource("docker.io", "http://u:secret@mirror.example.com"), "plain HTTP is allowed only"},
		{"mirror key", WithRegistryMirror("https://docker.io", "https://mirror.example.com"), "not a registry host"},
		{"http mirror", WithRegistryMirror("docker.io", "http://mirror.example.com"), "plain HTTP is allowed only"},
	} {
		err := CheckOptions(tc.opt)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckOptions(%s) = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckOptions(%s) = %v, want an error with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckOptions(%s) = %v: the error shows the password", tc.name, err)
		}
	}
	if err := CheckOptions(WithRegistryMirror("docker.io", "http://mirror.example.com")); !errors.Is(err, registry.ErrPlainHTTP) {
		t.Errorf("http mirror: %v, want errors.Is ErrPlainHTTP", err)
	}
}

// TestNoCredentials: a failure of the credential chain is ErrNoCredentials,
// whichever AWS call meets it first.
func TestNoCredentials(t *testing.T) {
	t.Setenv("AWS_ACCOUNT_ID", "")
	t.Setenv("CODEBUILD_BUILD_ARN", "")
	none := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found")
	})
	cfg := aws.Config{Region: "us-east-1", Credentials: none, BaseEndpoint: aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1}
	_, err := ResolveTarget(context.Background(), WithAWSConfig(cfg))
	if !errors.Is(err, ErrNoCredentials) {
		t.Errorf("ResolveTarget without credentials = %v, want ErrNoCredentials", err)
	}
	ok := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
	})
	cfg.Credentials = ok
	_, err = ResolveTarget(context.Background(), WithAWSConfig(cfg))
	if err == nil || errors.Is(err, ErrNoCredentials) {
		t.Errorf("ResolveTarget with credentials and no STS = %v, want a connection error", err)
	}
}
