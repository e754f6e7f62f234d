package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"docker.io": "docker.io", "Docker.io": "docker.io", "index.docker.io": "docker.io",
		"registry-1.docker.io": "docker.io", "registry.hub.docker.com": "docker.io", "REGISTRY.HUB.DOCKER.COM": "docker.io",
		"Quay.io": "quay.io", "registry.example.com:5000": "registry.example.com:5000",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"docker.io", "registry.example.com:5000", "localhost", "a"} {
		if err := CheckHost(h); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", h, err)
		}
	}
	for _, h := range []string{"", "https://x", "-a.io", "a.io.", "a.io:", "a.io:x", "a/b", "a_b.io"} {
		if err := CheckHost(h); err == nil {
			t.Errorf("CheckHost(%q) = nil, want an error", h)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Platform{
		"linux/amd64":    {"linux", "amd64", ""},
		"linux/arm/v7":   {"linux", "arm", "v7"},
		"windows/amd64":  {"windows", "amd64", ""},
		"linux/ppc64le":  {"linux", "ppc64le", ""},
		"linux/arm64/v8": {"linux", "arm64", "v8"},
	} {
		got, err := ParsePlatform(in)
		if err != nil || got != want {
			t.Errorf("ParsePlatform(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "amd64", "linux/", "/amd64", "linux/arm/v7/x", "Linux/AMD64", "linux/amd64:10.0"} {
		if _, err := ParsePlatform(in); err == nil {
			t.Errorf("ParsePlatform(%q) = nil error, want one", in)
		}
	}
}

func TestParseMirror(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		registry, url string
		insecure      []string
		want          Mirror
		err           string // empty for success
	}{
		{"docker.io", "https://mirror.example.com/hub/", nil, Mirror{"docker.io", "https", "mirror.example.com", "hub", nil}, ""},
		{"Registry.Hub.Docker.com", "http://127.0.0.1:5000", nil, Mirror{"docker.io", "http", "127.0.0.1:5000", "", nil}, ""},
		{"docker.io", "http://localhost:5000", nil, Mirror{"docker.io", "http", "localhost:5000", "", nil}, ""},
		{"docker.io", "http://[::1]:5000", nil, Mirror{"docker.io", "http", "[::1]:5000", "", nil}, ""},
		{"quay.io", "http://mirror.example.com", []string{"mirror.example.com"}, Mirror{"quay.io", "http", "mirror.example.com", "", nil}, ""},
		{"quay.io", "http://mirror.example.com:8080", []string{"mirror.example.com:8080"}, Mirror{"quay.io", "http", "mirror.example.com:8080", "", nil}, ""},
		{"docker.io", "http://10.0.0.5:5000", nil, Mirror{}, `"http://10.0.0.5:5000": plain HTTP is allowed only for loopback or insecure registries`},
		{"docker.io", "http://mirror.example.com:8080", []string{"other.example.com"}, Mirror{}, `"http://mirror.example.com:8080": plain HTTP is allowed only for loopback or insecure registries`},
		{"docker.io", "ftp://mirror.example.com", nil, Mirror{}, `"ftp://mirror.example.com": want a URL such as https://mirror.example.com[/path]`},
		{"docker.io", "mirror.example.com", nil, Mirror{}, `"mirror.example.com": want a URL such as https://mirror.example.com[/path]`},
		{"docker.io", "https:mirror.example.com", nil, Mirror{}, `"https:mirror.example.com": want a URL such as https://mirror.example.com[/path]`},
		{"docker.io", "ftp://ci:hunter2@mirror.example.com", nil, Mirror{}, `"ftp://[redacted]@mirror.example.com": want a URL such as https://mirror.example.com[/path]`},
		{"docker.io", "http://ci:hunter2@10.0.0.5", nil, Mirror{}, `"http://[redacted]@10.0.0.5": plain HTTP is allowed only for loopback or insecure registries`},
		{"docker.io", "http://ghp_TOKEN@10.0.0.5", nil, Mirror{}, `"http://[redacted]@10.0.0.5": plain HTTP is allowed only for loopback or insecure registries`},
		{"https://docker.io", "https://mirror.example.com", nil, Mirror{}, `"https://docker.io" is not a registry host such as docker.io or registry.example.com:5000`},
	} {
		got, err := ParseMirror(tc.registry, tc.url, tc.insecure)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseMirror(%q, %q, %q) = %+v, %v; want %+v", tc.registry, tc.url, tc.insecure, got, err, tc.want)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseMirror(%q, %q, %q) error = %v, want %q", tc.registry, tc.url, tc.insecure, err, tc.err)
		}
	}
	// A user:password@ logs in to the mirror; a committed file refuses it.
	if m, err := ParseMirror("docker.io", "https://ci:hunter2@mirror.example.com", nil); err != nil || m.User.String() != "ci:hunter2" || m.Host != "mirror.example.com" {
		t.Errorf("ParseMirror(user:password@) = %+v, %v; want the user kept", m, err)
	}
	if err := CheckNoUser("https://ci:hunter2@mirror.example.com"); !errors.Is(err, ErrUserInURL) {
		t.Errorf("CheckNoUser(user:password@) = %v, want ErrUserInURL", err)
	}
	if err := CheckNoUser("https://mirror.example.com"); err != nil {
		t.Errorf("CheckNoUser(no user) = %v", err)
	}
	if _, err := ParseMirror("docker.io", "http://mirror.example.com", nil); !errors.Is(err, ErrPlainHTTP) {
		t.Errorf("ParseMirror(plain HTTP) = %v, want ErrPlainHTTP", err)
	}
}

func TestTagMutability(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"MUTABLE": "MUTABLE", "immutable": "IMMUTABLE", "Mutable": "MUTABLE"} {
		if got, err := TagMutability(in); err != nil || got != want {
			t.Errorf("TagMutability(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SOMETIMES", "IMMUTABLE_WITH_EXCLUSION"} {
		if _, err := TagMutability(in); err == nil {
			t.Errorf("TagMutability(%q) = nil error, want one", in)
		}
	}
}

func TestCheckLifecyclePolicy(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		`{"rules": []}`: true, ` {"rules": [{"rulePriority": 1}]} `: true,
		`{"rules": [`: false, `[]`: false, `"x"`: false, ``: false, `{} {}`: false,
	} {
		if err := CheckLifecyclePolicy([]byte(in)); (err == nil) != ok {
			t.Errorf("CheckLifecyclePolicy(%q) = %v, want ok %t", in, err, ok)
		}
	}
}

func TestECRHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ account, region, want string }{
		{"123456789012", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{"123456789012", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
	} {
		got := ECRHost(tc.account, tc.region)
		if got != tc.want || !IsECRHost(got) {
			t.Errorf("ECRHost(%q, %q) = %q (IsECRHost %t), want %q", tc.account, tc.region, got, IsECRHost(got), tc.want)
		}
	}
	for _, h := range []string{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "123456789012.DKR.ECR.us-east-1.amazonaws.com"} {
		if !IsECRHost(h) {
			t.Errorf("IsECRHost(%q) = false", h)
		}
	}
	for _, h := range []string{"docker.io", "12345.dkr.ecr.us-east-1.amazonaws.com", "public.ecr.aws"} {
		if IsECRHost(h) {
			t.Errorf("IsECRHost(%q) = true", h)
		}
	}
}

func TestCheckRepository(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"docker-hub/library/python", "ab", "a.b_c-d/e"} {
		if err := CheckRepository(ok); err != nil {
			t.Errorf("CheckRepository(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"a", "Upper/case", "a//b", "-a", "a/"} {
		if err := CheckRepository(bad); !errors.Is(err, ErrRepositoryName) {
			t.Errorf("CheckRepository(%q) = %v, want ErrRepositoryName", bad, err)
		}
	}
}

func TestEnvRegion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env        map[string]string
		want, from string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"AWS_DEFAULT_REGION": "eu-north-1"}, "eu-north-1", "AWS_DEFAULT_REGION"},
		{map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-north-1"}, "us-west-2", "AWS_REGION"},
	} {
		got, from := EnvRegion(func(k string) string { return tc.env[k] })
		if got != tc.want || from != tc.from {
			t.Errorf("EnvRegion(%v) = %q, %q; want %q, %q", tc.env, got, from, tc.want, tc.from)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://mirror.example.com/hub", "https://mirror.example.com/hub"},
		{"https://ci:hunter2@mirror.example.com/hub", "https://[redacted]@mirror.example.com/hub"},
		// A token given alone as the user is as secret as a password.
		{"https://ghp_TOKEN@mirror.example.com", "https://[redacted]@mirror.example.com"},
		{"https://ci:hunter2@mirror.example.com:bad port", "[redacted]@mirror.example.com:bad port"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(RedactURL(tc.in), "hunter2") || strings.Contains(RedactURL(tc.in), "TOKEN") {
			t.Errorf("RedactURL(%q) shows a secret", tc.in)
		}
	}
}
