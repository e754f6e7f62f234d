package main

import (
	"bufio"
	"ecrbase/settings"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// badValues holds, for every flag of every command, a value that cannot be
// right and the exit status it must give. TestEveryFlagRefusesABadValue
// fails for a flag missing here, so a new flag gets its check and its test.
var badValues = map[string]struct {
	value string
	code  int
}{
	"build-arg":         {"1NAME=x", exitUsage},
	"prefix":            {"docker.io=Hub", exitUsage},
	"exclude":           {"[", exitUsage},
	"only":              {"not a host", exitUsage},
	"account-arg":       {"1ACCOUNT", exitUsage},
	"region-arg":        {"REGION-NAME", exitUsage},
	"region":            {"europe", exitUsage},
	"account":           {"12345", exitUsage},
	"syntax":            {"literally", exitUsage},
	"onbuild":           {"sometimes", exitUsage},
	"ignore":            {"[", exitUsage},
	"image":             {"Python:3.7!", exitUsage},
	"platform":          {"linux", exitUsage},
	"jobs":              {"0", exitUsage},
	"head-jobs":         {"0", exitUsage},
	"images-from":       {"no-such-catalogue.txt", exitUsage},
	"to":                {"europe:12345", exitUsage},
	"registry-mirror":   {"docker.io=ftp://mirror", exitUsage},
	"content-source":    {"docker.io=ftp://mirror", exitUsage},
	"insecure-registry": {"http://host", exitUsage},
	"max-wait":          {"-1m", exitUsage},
	"timeout":           {"-5s", exitUsage},
	"tag-mutability":    {"SOMETIMES", exitUsage},
	"kms-key":           {"two words", exitUsage},
	"repo-tag":          {"aws:team=web", exitUsage},
	"lifecycle-policy":  {"no-such-policy.json", exitError},
	"fail-on":           {"SEVERE", exitUsage},
	"format":            {"yaml", exitUsage},
	"merge":             {"not-an-object.json", exitError},
}

// TestEveryFlagRefusesABadValue runs every command with each of its flags
// given a bad value, and checks the exit status and the one-line message
// naming the flag. A boolean flag's bad value is --flag=maybe.
func TestEveryFlagRefusesABadValue(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, "Dockerfile", plain, 0o644)
	writeFile(t, "not-an-object.json", "[1]", 0o644)
	isolateAWS(t, dir)
	for _, cmd := range newApp().Commands {
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			arg, code := "", exitUsage
			if _, isBool := f.(*cli.BoolFlag); isBool {
				arg = "--" + name + "=maybe"
			} else {
				bad, ok := badValues[name]
				if !ok {
					t.Errorf("%s --%s: no bad value in badValues; add one and a check in settings/usage.go", cmd.Name, name)
					continue
				}
				arg, code = "--"+name+"="+bad.value, bad.code
			}
			t.Run(cmd.Name+"/"+name, func(t *testing.T) {
				got, out, errOut := ecrbase(t, "", cmd.Name, arg, "Dockerfile")
				if got != code || !strings.Contains(errOut, "--"+name) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "" {
					t.Errorf("ecrbase %s %s = %d, stdout %q, stderr %q; want %d and one line naming --%s", cmd.Name, arg, got, out, errOut, code, name)
				}
			})
		}
	}
	// The same values through the environment.
	for _, tc := range []struct{ env, value, cmd string }{
		{"ECRBASE_JOBS", "-3", "mirror"},
		{"ECRBASE_HEAD_JOBS", "0", "mirror"},
		{"ECRBASE_REPLICATE_TO", "europe", "replication"},
		{"ECRBASE_PLATFORM", "linux/amd64,amd64", "mirror"},
		{"ECRBASE_TAG_MUTABILITY", "sometimes", "mirror"},
		{"ECRBASE_SYNTAX", "x", "rewrite"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			if code, _, errOut := ecrbase(t, "", tc.cmd, "Dockerfile"); code != exitUsage {
				t.Errorf("%s=%s ecrbase %s = %d, stderr %q; want %d", tc.env, tc.value, tc.cmd, code, errOut, exitUsage)
			}
		})
	}
}

// isolateAWS keeps a test away from the user's AWS configuration and any
// network endpoint.
func isolateAWS(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:9")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
}

func TestGoodValuesPass(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, "Dockerfile", plain, 0o644)
	code, out, errOut := ecrbase(t, "", "rewrite", "--region", "eu-west-1", "--account", "123456789012",
		"--syntax", "literal", "--prefix", "docker.io=hub", "--only", "docker.io", "--exclude", "*/redis*",
		"--account-arg", "Account_ID", "--build-arg", "X=1", "Dockerfile")
	if code != exitOK || !strings.Contains(out, "/hub/library/python:3.7") {
		t.Errorf("rewrite with good values = %d, %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = ecrbase(t, "", "config", "--platform", "linux/amd64,linux/arm64", "--tag-mutability", "immutable",
		"--registry-mirror", "docker.io=https://mirror.example.com", "--insecure-registry", "registry.internal:5000",
		"--kms-key", "alias/ecr", "--repo-tag", "team=web")
	if code != exitOK {
		t.Errorf("config with good values = %d, stderr %q", code, errOut)
	}
}

// TestConflictingFlags gives every pair of settings.Conflicts (and --pin without
// --rewrite) to each command that has both flags.
func TestConflictingFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, "Dockerfile", plain, 0o644)
	isolateAWS(t, dir)
	pairs := [][2]string{{"pin", ""}}
	pairs = append(pairs, settings.Conflicts()...)
	for _, p := range pairs {
		tried := 0
		for _, cmd := range newApp().Commands {
			if !hasFlag(cmd, p[0]) || p[1] != "" && !hasFlag(cmd, p[1]) {
				continue
			}
			tried++
			args := []string{cmd.Name, "--" + p[0]}
			if p[1] != "" {
				args = append(args, "--"+p[1])
			}
			args = append(args, "Dockerfile")
			code, out, errOut := ecrbase(t, "", args...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, "--"+p[0]) {
				t.Errorf("ecrbase %q = %d, stdout %q, stderr %q; want %d naming the flags", args, code, out, errOut, exitUsage)
			}
			if got := readFile(t, "Dockerfile"); got != plain {
				t.Errorf("ecrbase %q changed the file", args)
			}
		}
		if tried == 0 {
			t.Errorf("no command has both --%s and --%s", p[0], p[1])
		}
	}
	// Each of the three on its own still works.
	for _, flag := range []string{"--write", "--diff", "--check"} {
		if code, _, errOut := ecrbase(t, "", "rewrite", "--region", "us-east-1", flag, "Dockerfile"); code == exitUsage {
			t.Errorf("rewrite %s alone = %d, stderr %q", flag, code, errOut)
		}
	}
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

func TestImagesPrintsNoHeaderAfterError(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errOut := ecrbase(t, "", "images", "nosuchfile")
	if code != exitError || out != "" || !strings.Contains(errOut, "nosuchfile") {
		t.Errorf("images nosuchfile = %d, stdout %q, stderr %q; want 1, nothing on stdout", code, out, errOut)
	}
	code, out, _ = ecrbase(t, "", "images", "--json", "nosuchfile")
	if code != exitError || out != "[]\n" {
		t.Errorf("images --json nosuchfile = %d, stdout %q; want 1 and []", code, out)
	}
	writeFile(t, "Dockerfile", "FROM alpine\nRUN echo\n", 0o644)
	writeFile(t, "bad/Dockerfile", "", 0o644)
	code, out, _ = ecrbase(t, "", "images", ".")
	if code != exitError || !strings.HasPrefix(out, "FILE:LINE") || strings.Count(out, "\n") != 2 {
		t.Errorf("images with one good and one bad file = %d, stdout %q; want a header and one row", code, out)
	}
}

// TestFlagPlaceholders: each flag that takes a value names it in --help
// (N, FILE, keep|literal), never urfave's generic "value" or text that is
// not a value such as "# syntax=".
func TestFlagPlaceholders(t *testing.T) {
	placeholder := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_|=/.,\[\]-]*$`)
	for _, cmd := range newApp().Commands {
		_, out, _ := ecrbase(t, "", cmd.Name, "--help")
		for _, f := range cmd.Flags {
			if _, isBool := f.(*cli.BoolFlag); isBool {
				continue
			}
			name := f.Names()[0]
			m := regexp.MustCompile(`(?m)^\s+--` + regexp.QuoteMeta(name) + `(?:, -\w)? (\S+(?: \S+)?)\s`).FindStringSubmatch(out)
			if m == nil {
				t.Errorf("%s --help has no line for --%s:\n%s", cmd.Name, name, out)
				continue
			}
			ph := strings.Fields(m[1])[0]
			if ph == "value" || !placeholder.MatchString(ph) {
				t.Errorf("%s --%s placeholder %q: want the value's name", cmd.Name, name, m[1])
			}
		}
	}
	_, out, _ := ecrbase(t, "", "rewrite", "--help")
	if !strings.Contains(out, "--syntax keep|literal") {
		t.Errorf("rewrite --help does not show --syntax keep|literal:\n%s", out)
	}
}

func TestCheckHintUnderPreCommit(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), plain, 0o644)
	t.Setenv("PRE_COMMIT", "")
	os.Unsetenv("PRE_COMMIT")
	_, _, errOut := ecrbase(t, "", "rewrite", "--check", dir)
	if !strings.Contains(errOut, "run ecrbase rewrite -w") || strings.Contains(errOut, "pre-commit") {
		t.Errorf("--check hint outside pre-commit = %q", errOut)
	}
	t.Setenv("PRE_COMMIT", "1")
	code, _, errOut := ecrbase(t, "", "rewrite", "--check", dir)
	if code != exitChanges || !strings.Contains(errOut, "pre-commit run ecrbase-rewrite --all-files") || strings.Contains(errOut, "ecrbase rewrite -w") {
		t.Errorf("--check hint under pre-commit = %d, %q", code, errOut)
	}
}

// TestExitStatusTable: the README's exit-status table lists exactly the
// statuses a run below produces.
func TestExitStatusTable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok", "Dockerfile"), converted, 0o644)
	writeFile(t, filepath.Join(dir, "todo", "Dockerfile"), plain, 0o644)
	writeFile(t, filepath.Join(dir, "broken", "Dockerfile"), "FROM\n", 0o644)
	runs := map[int][]string{
		exitOK:      {"rewrite", "--check", filepath.Join(dir, "ok")},
		exitError:   {"images", filepath.Join(dir, "broken")},
		exitUsage:   {"rewrite", "--check", "--write", dir},
		exitChanges: {"rewrite", "--check", filepath.Join(dir, "todo")},
	}
	for want, args := range runs {
		if code, _, errOut := ecrbase(t, "", args...); code != want {
			t.Errorf("ecrbase %q = %d, stderr %q; want %d", args, code, errOut, want)
		}
	}
	readme, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer readme.Close()
	var statuses []string
	in := false
	for sc := bufio.NewScanner(readme); sc.Scan(); {
		line := sc.Text()
		switch {
		case line == "### Exit status":
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in && regexp.MustCompile(`^\| \d \|`).MatchString(line):
			statuses = append(statuses, line[2:3])
		}
	}
	if strings.Join(statuses, ",") != "0,1,2,3" {
		t.Errorf("README exit statuses = %v, want 0,1,2,3 (the ones tested here)", statuses)
	}
	_, out, _ := ecrbase(t, "", "--help")
	if !strings.Contains(out, "Exit status: 0 ok, 1 error, 2 usage, 3 rewrite --check found files to change.") {
		t.Errorf("ecrbase --help does not state the exit statuses:\n%s", out)
	}
}

// TestHelpAgreesWithReadme: the README's usage section lists exactly the
// commands the CLI has, with the same argument form, and the top-level help
// lists the same commands.
func TestHelpAgreesWithReadme(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, usage, ok := strings.Cut(string(data), "\n## Usage\n")
	if !ok {
		t.Fatal("README has no ## Usage section")
	}
	usage, _, _ = strings.Cut(usage, "\n#")
	documented := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^    ecrbase (\S+)\s+(\[PATH\.\.\.\])?`).FindAllStringSubmatch(usage, -1) {
		documented[m[1]] = m[2]
	}
	_, top, _ := ecrbase(t, "", "--help")
	for _, cmd := range newApp().Commands {
		args, ok := documented[cmd.Name]
		if !ok {
			t.Errorf("README usage does not list ecrbase %s", cmd.Name)
			continue
		}
		delete(documented, cmd.Name)
		if args != cmd.ArgsUsage {
			t.Errorf("README usage: ecrbase %s %q, --help says %q", cmd.Name, args, cmd.ArgsUsage)
		}
		if !regexp.MustCompile(`(?m)^   ` + regexp.QuoteMeta(cmd.Name) + `\s+` + regexp.QuoteMeta(cmd.Usage) + `$`).MatchString(top) {
			t.Errorf("ecrbase --help does not list %s: %s", cmd.Name, cmd.Usage)
		}
		code, out, _ := ecrbase(t, "", cmd.Name, "--help")
		if code != exitOK || !strings.Contains(out, "ecrbase "+cmd.Name) {
			t.Errorf("ecrbase %s --help = %d:\n%s", cmd.Name, code, out)
		}
	}
	for name := range documented {
		if name != "--version" {
			t.Errorf("README usage lists ecrbase %s, which does not exist", name)
		}
	}
	if _, ok := documented["--version"]; !ok {
		t.Errorf("README usage does not list ecrbase --version")
	}
}
