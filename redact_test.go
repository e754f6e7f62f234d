package main

import (
	"strings"
	"testing"
)

// TestMirrorURLPasswordNeverPrinted: a registry mirror URL with
// user:password@, given by flag or environment, is shown by config and
// config --json and named by mirror's plain-HTTP refusal without the
// password.
func TestMirrorURLPasswordNeverPrinted(t *testing.T) {
	const pass = "mirr0r-pa55word"
	isolate(t)
	newRepo(t, map[string]string{"Dockerfile": "FROM alpine:3.20\n"})
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, tc := range []struct {
		name string
		env  string
		args []string
	}{
		{"config flag", "", []string{"config", "--registry-mirror", "docker.io=https://ci:" + pass + "@mirror.example.com/hub"}},
		{"config --json env", "docker.io=https://ci:" + pass + "@mirror.example.com", []string{"config", "--json"}},
		{"plain HTTP refusal", "", []string{"mirror", "--dry-run", "--registry-mirror", "docker.io=http://ci:" + pass + "@mirror.example.com", "."}},
		{"malformed pair", "", []string{"mirror", "--dry-run", "--registry-mirror", "https://ci:" + pass + "@mirror.example.com", "."}},
		// A token alone in the userinfo, as some registries take it, is as
		// secret as a password.
		{"plain HTTP refusal, token as the user", "", []string{"mirror", "--dry-run", "--registry-mirror", "docker.io=http://" + pass + "@mirror.example.com", "."}},
		{"config, token as the user", "", []string{"config", "--registry-mirror", "docker.io=https://" + pass + "@mirror.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ECRBASE_REGISTRY_MIRROR", tc.env)
			code, out, errOut := ecrbase(t, "", tc.args...)
			if strings.Contains(out+errOut, pass) {
				t.Errorf("ecrbase %s printed the password (exit %d):\nstdout %s\nstderr %s", strings.Join(tc.args, " "), code, out, errOut)
			}
			if !strings.Contains(out+errOut, "mirror.example.com") {
				t.Errorf("ecrbase %s does not name the mirror (exit %d):\nstdout %s\nstderr %s", strings.Join(tc.args, " "), code, out, errOut)
			}
		})
	}
}
