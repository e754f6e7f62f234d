package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"jobs", "timeout", "platform", "region", "fail-on", "format", "images-from", "lifecycle-policy", "registry-mirror", "write", "check", "pin", "rewrite", "merge"}
	cases := []struct {
		name    string
		command string
		given   Given
		want    string // "" is no error
		usage   bool
	}{
		{"good", "mirror", Given{"jobs": {Values: []string{"2"}}, "platform": {Values: []string{"linux/amd64,linux/arm64"}}, "fail-on": {Values: []string{"high"}}}, "", false},
		{"jobs 0", "mirror", Given{"jobs": {Values: []string{"0"}}}, "--jobs 0: want a whole number of at least 1", true},
		{"negative timeout", "mirror", Given{"timeout": {Values: []string{"-1s"}}}, "--timeout -1s: want a duration such as 10m, not a negative one", true},
		{"empty list item", "mirror", Given{"platform": {Values: []string{"linux/amd64,"}}}, `--platform "linux/amd64,": an empty value`, true},
		{"empty variable", "mirror", Given{"region": {Values: []string{""}, Env: "ECRBASE_REGION"}}, "", false},
		{"bad region", "mirror", Given{"region": {Values: []string{"Mars"}}}, `--region "Mars"`, true},
		{"fail-on is ecr's list", "mirror", Given{"fail-on": {Values: []string{"SEVERE"}}}, "want INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL", true},
		{"format of the command", "renovate", Given{"format": {Values: []string{"env"}}}, "want json or table", true},
		{"format elsewhere", "build-args", Given{"format": {Values: []string{"env"}}}, "", false},
		{"catalogue missing", "mirror", Given{"images-from": {Values: []string{filepath.Join(dir, "none.txt")}}}, "--images-from", true},
		{"catalogue on stdin", "mirror", Given{"images-from": {Values: []string{"-"}}}, "", false},
		{"policy unreadable", "mirror", Given{"lifecycle-policy": {Values: []string{policy}}}, "--lifecycle-policy " + policy, false},
		{"password redacted", "mirror", Given{"registry-mirror": {Values: []string{"docker.io=ftp://u:secret@mirror.example.com"}}}, "--registry-mirror", true},
		{"conflict", "rewrite", Given{"write": {Values: []string{"true"}}, "check": {Values: []string{"true"}}}, "--write and --check conflict", true},
		{"conflict off", "rewrite", Given{"write": {Values: []string{"true"}}, "check": {Values: []string{"false"}}}, "", false},
		{"pin alone", "mirror", Given{"pin": {Values: []string{"true"}}}, "--pin works with --rewrite", true},
		{"merge as table", "renovate", Given{"merge": {Values: []string{"renovate.json"}}, "format": {Values: []string{"table"}}}, "--merge writes JSON: drop --format table", true},
		{"write without merge", "renovate", Given{"write": {Values: []string{"true"}}}, "--write needs --merge FILE", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.command, flags, tc.given, noEnv)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tc.want == "":
				return
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Check = %v, want %q", err, tc.want)
			case errors.Is(err, ErrUsage) != tc.usage:
				t.Errorf("Check = %v: usage error %v, want %v", err, errors.Is(err, ErrUsage), tc.usage)
			case strings.Contains(err.Error(), "secret"):
				t.Errorf("Check = %v quotes the password", err)
			}
		})
	}
}
