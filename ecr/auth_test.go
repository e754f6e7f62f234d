package ecr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/testenv"
)

// leaky puts a registry behind basic auth and, for manifest GETs (source)
// or manifest PUTs (target), answers 403 with a body that quotes the
// credentials it received: the worst a registry could do.
func leaky(t *testing.T, user, pass, leakMethod string) string {
	t.Helper()
	up := httptest.NewServer(registry.New(quiet()))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gu, gp, ok := r.BasicAuth()
		if !ok || gu != user || gp != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == leakMethod && strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"denied for %s (header %s, password %s)"}]}`,
				gu, r.Header.Get("Authorization"), gp)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// hostKeychain serves one user to one host.
type hostKeychain struct{ host, user, pass string }

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
	}
	return authn.Anonymous, nil
}

func TestNoCredentialInOutput(t *testing.T) {
	t.Parallel()
	const hubUser, hubToken = "builder", "dckr_pat_s3cr3t-T0KEN-value"
	secrets := []string{
		motoToken,
		base64.StdEncoding.EncodeToString([]byte("AWS:" + motoToken)),
		hubToken,
		base64.StdEncoding.EncodeToString([]byte(hubUser + ":" + hubToken)),
	}
	e := env{"DOCKERHUB_USERNAME": hubUser, "DOCKERHUB_TOKEN": hubToken}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (target string, img Image, opts []Option)
	}{
		{"target quotes the ECR token", func(t *testing.T) (string, Image, []Option) {
			h := newHub(t)
			h.push(t, "leak:1", randomImage(t, 512, 1))
			return leaky(t, "AWS", motoToken, http.MethodPut), Image{Source: "docker.io/library/leak:1", Repository: uniqueRepo(t)}, []Option{WithRegistryMirror("docker.io", h.url)}
		}},
		{"source quotes the Docker Hub token", func(t *testing.T) (string, Image, []Option) {
			src := leaky(t, hubUser, hubToken, http.MethodGet)
			ref, _ := name.ParseReference(src + "/library/leak:1")
			if err := remote.Write(ref, randomImage(t, 512, 1), remote.WithAuth(&authn.Basic{Username: hubUser, Password: hubToken})); err != nil {
				t.Fatal(err)
			}
			return newRegistry(t), Image{Source: src + "/library/leak:1", Repository: uniqueRepo(t)}, []Option{WithKeychain(hostKeychain{src, hubUser, hubToken})}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target, img, extra := tc.setup(t)
			var progress, logs bytes.Buffer
			var lp lines
			opts := append(testOptions(t, target, nil, e), extra...)
			opts = append(opts, WithProgress(&lp), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			rep, err := Mirror(context.Background(), []Image{img}, opts...)
			if err == nil {
				t.Fatal("Mirror succeeded; the test needs the registry's 403")
			}
			progress.WriteString(lp.String())
			js, _ := json.Marshal(rep)
			out := map[string]string{"error": err.Error(), "report": string(js), "progress": progress.String(), "log": logs.String()}
			for where, text := range out {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s contains a credential %q:\n%s", where, s, text)
					}
				}
			}
			// The registry's answer did reach the error, with the credential hidden.
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("error %q, want the quoted credential replaced by [redacted]", err)
			}
		})
	}
}

func TestEnvKeychainOnlyForDockerHub(t *testing.T) {
	t.Parallel()
	k := envKeychain{getenv: env{"DOCKERHUB_USERNAME": "u", "DOCKERHUB_TOKEN": "t0ken-123"}.get}
	for _, tc := range []struct {
		ref      string
		wantUser string
	}{
		{"docker.io/library/python:3", "u"},
		{"index.docker.io/library/python:3", "u"},
		{"python:3", "u"},
		{"quay.io/x/y:1", ""},
		{"127.0.0.1:5000/library/python:3", ""},
	} {
		ref, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		ac, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if ac.Username != tc.wantUser {
			t.Errorf("envKeychain.Resolve(%s) user = %q, want %q", tc.ref, ac.Username, tc.wantUser)
		}
	}
}

// TestDockerRegistryBasicAuth mirrors into the real Debian docker-registry
// (distribution) with htpasswd auth whose password is moto's token.
// realECR starts the Debian docker-registry (distribution) with htpasswd
// basic auth for the user and password in moto's authorization token, as
// ECR checks them, and returns its host:port and the credentials.
func realECR(t *testing.T) (target, user, pass string) {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		testenv.Missing(t, "docker-registry is not installed (apt-get install docker-registry)")
	}
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		testenv.Missing(t, "htpasswd is not installed (apt-get install apache2-utils)")
	}
	out, err := awsecr.NewFromConfig(motoConfig(t)).GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	user, pass, _ = strings.Cut(string(raw), ":")
	return startDockerRegistry(t, bin, htpasswd, user, pass), user, pass
}

func TestDockerRegistryBasicAuth(t *testing.T) {
	t.Parallel()
	target, user, pass := realECR(t)
	h := newHub(t)
	single := h.push(t, "real:1", randomImage(t, 64<<10, 2))
	multi := h.push(t, "real:2", multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64"))
	repo := uniqueRepo(t)
	images := []Image{{Source: "docker.io/library/real:1", Repository: repo}, {Source: "docker.io/library/real:2", Repository: repo}}
	rep := mustMirror(t, images, testOptions(t, target, h, nil)...)

	auth := remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	for i, want := range []string{single, multi} {
		ref, _ := name.ParseReference(target + "/" + repo + ":" + fmt.Sprint(i+1))
		d, err := remote.Head(ref, auth)
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest.String() != want || rep.Images[i].Digest != want {
			t.Errorf("docker-registry %s = %s (report %s), want %s", ref, d.Digest, rep.Images[i].Digest, want)
		}
	}
	ref, _ := name.ParseReference(target + "/" + repo + ":1")
	if _, err := remote.Head(ref); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("anonymous HEAD error = %v, want 401: the registry must enforce auth", err)
	}

	h.proxy.Reset()
	rep = mustMirror(t, images, testOptions(t, target, h, nil)...)
	if s := h.proxy.Stats(); s.ManifestGets != 0 || rep.Images[0].Action != None || rep.Images[1].Action != None {
		t.Errorf("second run: %d manifest GETs, actions %s %s; want 0, none none", s.ManifestGets, rep.Images[0].Action, rep.Images[1].Action)
	}
}

// startDockerRegistry runs docker-registry on a free loopback port with
// htpasswd auth and returns its host:port.
func startDockerRegistry(t testing.TB, bin, htpasswd, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	pw, err := exec.Command(htpasswd, "-Bbn", user, pass).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), pw, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: %s/data}}
http: {addr: "%s"}
auth: {htpasswd: {realm: ecr, path: %s/htpasswd}}
`, dir, addr, dir)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return addr
			}
		}
	}
	t.Fatalf("docker-registry did not start on %s: %s", addr, stderr.String())
	return ""
}

// TestNoCredentialFromDockerConfigInOutput: credentials that come from the
// Docker config file, inline or through a credential helper, are hidden
// too when a registry quotes them back, in the error, the report, the
// progress and the log. It sets DOCKER_CONFIG and PATH, so it is not
// parallel.
func TestNoCredentialFromDockerConfigInOutput(t *testing.T) {
	const user, pass = "cfg-user", "cfg-s3cr3t-pa55word"
	for _, tc := range []struct {
		name   string
		config func(dir, host string) string
	}{
		{"inline auth", func(dir, host string) string {
			return fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}},
		{"credential helper", func(dir, host string) string {
			script := fmt.Sprintf("#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}'\n", host, user, pass)
			if err := os.WriteFile(filepath.Join(dir, "docker-credential-ecrbasetest"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf(`{"credHelpers":{%q:"ecrbasetest"}}`, host)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := leaky(t, user, pass, http.MethodGet)
			ref, _ := name.ParseReference(src + "/library/leak:1")
			if err := remote.Write(ref, randomImage(t, 512, 1), remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.config(dir, src)), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("DOCKER_CONFIG", dir)
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			var lp lines
			var logs bytes.Buffer
			opts := append(testOptions(t, newRegistry(t), nil, nil), WithProgress(&lp), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			rep, err := Mirror(context.Background(), []Image{{Source: src + "/library/leak:1", Repository: uniqueRepo(t)}}, opts...)
			if err == nil {
				t.Fatal("Mirror succeeded; the test needs the registry's 403")
			}
			js, _ := json.Marshal(rep)
			secrets := []string{pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
			for where, text := range map[string]string{"error": err.Error(), "report": string(js), "progress": lp.String(), "log": logs.String()} {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s contains a credential %q:\n%s", where, s, text)
					}
				}
			}
			if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(err.Error(), "DENIED") {
				t.Errorf("error %q, want the registry's answer with the credential replaced by [redacted]", err)
			}
		})
	}
}
