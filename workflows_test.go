package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

// The tests in this file keep the adoption paths honest: buildspec.yml and
// .pre-commit-hooks.yaml may only use commands and flags the CLI has, and the
// hooks must behave as documented on the example applications.

// buildspec is the part of a CodeBuild buildspec these tests read.
type buildspec struct {
	Version any `yaml:"version"`
	Env     struct {
		Variables      map[string]string `yaml:"variables"`
		SecretsManager map[string]string `yaml:"secrets-manager"`
		ParameterStore map[string]string `yaml:"parameter-store"`
	} `yaml:"env"`
	Phases map[string]struct {
		Commands []string `yaml:"commands"`
		Finally  []string `yaml:"finally"`
	} `yaml:"phases"`
	Cache struct {
		Paths []string `yaml:"paths"`
	} `yaml:"cache"`
}

func readBuildspec(t *testing.T) buildspec {
	t.Helper()
	data, err := os.ReadFile("buildspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	var spec buildspec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&spec); err != nil {
		t.Fatalf("buildspec.yml: %v", err)
	}
	return spec
}

func TestBuildspecShape(t *testing.T) {
	spec := readBuildspec(t)
	if fmt.Sprint(spec.Version) != "0.2" {
		t.Errorf("buildspec version = %v, want 0.2", spec.Version)
	}
	for _, phase := range []string{"install", "pre_build", "build", "post_build"} {
		if len(spec.Phases[phase].Commands) == 0 {
			t.Errorf("buildspec has no %s commands", phase)
		}
	}
	// Credentials come from Secrets Manager, never from plain variables.
	for _, name := range []string{"DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"} {
		if _, ok := spec.Env.SecretsManager[name]; !ok {
			t.Errorf("buildspec env.secrets-manager does not set %s", name)
		}
	}
	secretish := regexp.MustCompile(`(?i)token|password|secret|credential`)
	for name := range spec.Env.Variables {
		if secretish.MatchString(name) {
			t.Errorf("buildspec sets %s as a plain-text variable", name)
		}
	}

	// The install phase builds the pinned commit (or team-made tag) once
	// into a cached folder keyed by the pin; TestBuildspecInstall runs it.
	ref := spec.Env.Variables["ECRBASE_REF"]
	if !regexp.MustCompile(`^([0-9a-f]{40}|v[0-9]+\.[0-9]+\.[0-9]+)$`).MatchString(ref) {
		t.Errorf("ECRBASE_REF = %q, want a commit SHA or a tag such as v1.2.3", ref)
	}
	if !slices.ContainsFunc(spec.Phases["install"].Commands, func(c string) bool { return strings.Contains(c, `"$ECRBASE_CACHE/$ECRBASE_REF"`) }) {
		t.Error("install phase does not keep ecrbase in a folder keyed by ECRBASE_REF")
	}
	if cache := spec.Env.Variables["ECRBASE_CACHE"]; !slices.Contains(spec.Cache.Paths, cache+"/**/*") {
		t.Errorf("cache paths %v do not keep ECRBASE_CACHE %s", spec.Cache.Paths, cache)
	}

	cmds := allCommands(spec)
	for _, want := range []string{"ecrbase mirror --rewrite .", "aws ecr get-login-password"} {
		if !slices.ContainsFunc(cmds, func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("buildspec never runs %q", want)
		}
	}
}

// modulePath reads the module path from go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

func allCommands(spec buildspec) []string {
	var out []string
	for _, phase := range []string{"install", "pre_build", "build", "post_build"} {
		out = append(out, spec.Phases[phase].Commands...)
		out = append(out, spec.Phases[phase].Finally...)
	}
	return out
}

func TestBuildspecUsesExistingCommandsAndFlags(t *testing.T) {
	spec := readBuildspec(t)
	var calls [][]string
	for _, cmd := range allCommands(spec) {
		calls = append(calls, ecrbaseInvocations(cmd)...)
	}
	if len(calls) < 2 {
		t.Fatalf("found %d ecrbase invocations in buildspec.yml, want at least mirror and build-args", len(calls))
	}
	for _, args := range calls {
		if err := parseOnly(args); err != nil {
			t.Errorf("buildspec runs `ecrbase %s`: %v", strings.Join(args, " "), err)
		}
	}

	// Settings given as ECRBASE_* variables must be flags' variables.
	envs := flagEnvVars(newApp())
	for name := range spec.Env.Variables {
		if strings.HasPrefix(name, "ECRBASE_") && !slices.Contains([]string{"ECRBASE_REF", "ECRBASE_GIT_URL", "ECRBASE_CACHE"}, name) && !envs[name] {
			t.Errorf("buildspec sets %s, which no ecrbase flag reads", name)
		}
	}
}

func TestParseOnlyRejectsUnknown(t *testing.T) {
	// The check above is only as good as parseOnly's refusals.
	for _, args := range [][]string{
		{"mirror", "--no-such-flag"},
		{"no-such-command"},
		{"rewrite", "--check=maybe"},
	} {
		if err := parseOnly(args); err == nil {
			t.Errorf("parseOnly(%q) = nil, want an error", args)
		}
	}
	if err := parseOnly([]string{"rewrite", "--check", "--region", "eu-west-1", "."}); err != nil {
		t.Errorf("parseOnly(valid rewrite) = %v", err)
	}
}

// shellToken splits a command line into words and operators. It knows
// quotes, $(...) and the operators a buildspec line uses; it expands nothing.
var shellToken = regexp.MustCompile(`\$\(|\)|\|\||&&|[|;<>]|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'|;<>()&]+`)

// ecrbaseInvocations returns the argument lists of every ecrbase command in
// a shell line, including those inside $(...) and inside double quotes.
func ecrbaseInvocations(line string) [][]string {
	words := shellToken.FindAllString(line, -1)
	var out [][]string
	for i, w := range words {
		if strings.HasPrefix(w, `"`) {
			out = append(out, ecrbaseInvocations(strings.Trim(w, `"`))...)
			continue
		}
		if w != "ecrbase" {
			continue
		}
		var args []string
		for _, a := range words[i+1:] {
			if a == "$(" || a == ")" || a == "|" || a == "||" || a == "&&" || a == ";" || a == ">" || a == "<" {
				break
			}
			args = append(args, strings.Trim(a, `"'`))
		}
		out = append(out, args)
	}
	return out
}

func TestEcrbaseInvocations(t *testing.T) {
	for _, tc := range []struct {
		line string
		want [][]string
	}{
		{`ecrbase mirror --rewrite .`, [][]string{{"mirror", "--rewrite", "."}}},
		{`docker build $(ecrbase build-args Dockerfile) --tag "$IMAGE_URI" .`, [][]string{{"build-args", "Dockerfile"}}},
		{`docker build "$(ecrbase build-args --format docker)" .`, [][]string{{"build-args", "--format", "docker"}}},
		{`ecrbase images --json > images.json && ecrbase rewrite --check`, [][]string{{"images", "--json"}, {"rewrite", "--check"}}},
		{`go install ecrbase@${ECRBASE_VERSION}`, nil},
	} {
		if got := ecrbaseInvocations(tc.line); !cmp.Equal(got, tc.want) {
			t.Errorf("ecrbaseInvocations(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// parseOnly runs the CLI's own flag parsing on args, with every action
// replaced by one that does nothing, so that nothing reads files or calls AWS.
func parseOnly(args []string) error {
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	app.Before, app.After = nil, nil
	ran := ""
	var stub func(cmds []*cli.Command, prefix string)
	stub = func(cmds []*cli.Command, prefix string) {
		for _, c := range cmds {
			name := prefix + c.Name
			c.Before, c.After = nil, nil
			c.Action = func(*cli.Context) error { ran = name; return nil }
			stub(c.Subcommands, name+" ")
		}
	}
	stub(app.Commands, "")
	app.Action = func(c *cli.Context) error {
		if c.NArg() > 0 {
			return fmt.Errorf("no command %q", c.Args().First())
		}
		return nil
	}
	if err := app.Run(append([]string{"ecrbase"}, args...)); err != nil {
		return err
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && ran == "" {
		return fmt.Errorf("no command ran for %q", args[0])
	}
	return nil
}

// flagEnvVars collects the environment variables of every flag.
func flagEnvVars(app *cli.App) map[string]bool {
	out := map[string]bool{}
	add := func(flags []cli.Flag) {
		for _, f := range flags {
			if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
				for _, e := range ev.GetEnvVars() {
					out[e] = true
				}
			}
		}
	}
	add(app.Flags)
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			add(c.Flags)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
	return out
}

// hook is one entry of .pre-commit-hooks.yaml.
type hook struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Entry    string `yaml:"entry"`
	Language string `yaml:"language"`
	Files    string `yaml:"files"`
}

func readHooks(t *testing.T) map[string]hook {
	t.Helper()
	data, err := os.ReadFile(".pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var list []hook
	if err := yaml.Unmarshal(data, &list); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	hooks := map[string]hook{}
	for _, h := range list {
		hooks[h.ID] = h
	}
	for id, entry := range map[string]string{
		"ecrbase-check": "ecrbase rewrite --check", "ecrbase-rewrite": "ecrbase rewrite -w",
		"ecrbase-check-system": "ecrbase rewrite --check", "ecrbase-rewrite-system": "ecrbase rewrite -w",
	} {
		h, ok := hooks[id]
		language := "golang"
		if strings.HasSuffix(id, "-system") {
			language = "system"
		}
		switch {
		case !ok:
			t.Fatalf("no hook %s", id)
		case h.Entry != entry:
			t.Errorf("hook %s entry = %q, want %q", id, h.Entry, entry)
		case h.Language != language:
			t.Errorf("hook %s language = %q, want %s", id, h.Language, language)
		case h.Name == "":
			t.Errorf("hook %s has no name", id)
		}
	}
	return hooks
}

func TestHookFilesPattern(t *testing.T) {
	// pre-commit matches files with Python's re.search on the path relative
	// to the repository root; the pattern uses only syntax Go's regexp shares.
	for id, h := range readHooks(t) {
		re, err := regexp.Compile(h.Files)
		if err != nil {
			t.Fatalf("hook %s files: %v", id, err)
		}
		for _, name := range []string{
			"Dockerfile", "Dockerfile.dev", "Dockerfile.", "Containerfile", "Containerfile.arm64",
			"api.Dockerfile", "web.dockerfile", ".Dockerfile",
			"Dockerfiles", "dockerfile", "Dockerfile-old", "MyDockerfile", "app.Dockerfile.bak",
			"Containerfiles", "README.md", "docker-compose.yml", "docker-compose.yaml", "compose.yaml",
			"compose.yml", "compose.override.yaml", "docker-compose.prod.yml", "compose..yaml", "compose.json",
			"my-compose.yaml", "compose.yaml.bak", "compose.ci.yml",
		} {
			for _, path := range []string{name, "services/api/" + name} {
				if got, want := re.MatchString(path), rewrite.IsDockerfile(name) || rewrite.IsComposeFile(name); got != want {
					t.Errorf("hook %s files matches %q = %v, but rewrite discovers it = %v", id, path, got, want)
				}
			}
		}
		if re.MatchString("Dockerfile/README.md") {
			t.Errorf("hook %s files matches a file inside a directory named Dockerfile", id)
		}
	}
}

// runEntry runs a hook's entry in-process the way pre-commit runs it: the
// entry's words, then the file names, relative to the current directory.
func runEntry(t *testing.T, entry string, files ...string) (code int, output string) {
	t.Helper()
	words := strings.Fields(entry)
	if words[0] != "ecrbase" {
		t.Fatalf("entry %q does not run ecrbase", entry)
	}
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.Run(append(append([]string{"ecrbase"}, words[1:]...), files...))
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ec):
		return ec.ExitCode(), out.String() + err.Error()
	default:
		return 1, out.String() + err.Error()
	}
}

// hookEnv makes the hooks run as on a developer's machine with no AWS access:
// no configuration files, no instance metadata, and ECR and STS endpoints
// that refuse connections. The hooks must not need any of it.
func hookEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "ECRBASE_") || strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
}

// exampleRepo copies examples/<name> into a new directory laid out as an
// application repository (its .ecrbase.yaml, if any, at the root) and
// returns that directory, the Dockerfiles in it relative to it, and for each
// the expected rewrite (the rewritten.txt beside it).
func exampleRepo(t *testing.T, names ...string) (repo string, files []string, want map[string][]byte) {
	t.Helper()
	repo = t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	want = map[string][]byte{}
	for _, name := range names {
		src := filepath.Join("examples", name)
		dst := repo
		if len(names) > 1 {
			dst = filepath.Join(repo, name)
		}
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		found, err := rewrite.Discover([]string{src})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			rel, err := filepath.Rel(src, f)
			if err != nil {
				t.Fatal(err)
			}
			rel = filepath.Join(strings.TrimPrefix(dst, repo), rel)
			rel = strings.TrimPrefix(rel, string(filepath.Separator))
			golden := "rewritten.txt"
			if base := filepath.Base(f); rewrite.IsComposeFile(base) {
				golden = strings.TrimSuffix(base, filepath.Ext(base)) + ".rewritten.txt"
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(f), golden))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, rel)
			want[rel] = b
		}
	}
	return repo, files, want
}

// exampleNames lists examples/*: the directories holding a Dockerfile.
func exampleNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if found, err := rewrite.Discover([]string{filepath.Join("examples", e.Name())}); err == nil && len(found) > 0 {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no examples")
	}
	return names
}

// checkHooks runs the hooks on files in the current directory, as a commit
// touching them would: check fails exactly on the files that are not yet
// converted and names them, rewrite turns each into its expected rewrite,
// and check then passes.
func checkHooks(t *testing.T, hooks map[string]hook, files []string, want map[string][]byte) {
	t.Helper()
	check, fix := hooks["ecrbase-check"].Entry, hooks["ecrbase-rewrite"].Entry
	var unconverted []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[f]) {
			unconverted = append(unconverted, f)
		}
	}

	wantCode := exitChanges
	if len(unconverted) == 0 {
		wantCode = exitOK
	}
	code, out := runEntry(t, check, files...)
	if code != wantCode {
		t.Errorf("%s %s: exit %d, want %d\n%s", check, strings.Join(files, " "), code, wantCode, out)
	}
	for _, f := range files {
		if named, want := strings.Contains(out, f), slices.Contains(unconverted, f); named != want {
			t.Errorf("%s output names %s = %v, want %v:\n%s", check, f, named, want, out)
		}
	}

	if code, out := runEntry(t, fix, files...); code != exitOK {
		t.Fatalf("%s: exit %d, want 0\n%s", fix, code, out)
	}
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want[f]), string(got)); diff != "" {
			t.Errorf("%s left %s different from its rewritten.txt (-want +got):\n%s", fix, f, diff)
		}
	}

	if code, out := runEntry(t, check, files...); code != exitOK {
		t.Errorf("%s after %s: exit %d, want 0\n%s", check, fix, code, out)
	}
}

func TestHooksOnExamples(t *testing.T) {
	hooks := readHooks(t)
	hookEnv(t)
	var plain []string // examples without their own configuration file
	for _, name := range exampleNames(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("examples", name, ".ecrbase.yaml")); err == nil {
				// The repository's file sets the region; nothing else may.
				t.Setenv("AWS_REGION", "")
				os.Unsetenv("AWS_REGION")
			} else {
				// The region the examples' rewritten.txt were generated with,
				// written as ARG AWS_REGION's default.
				t.Setenv("AWS_REGION", "us-east-1")
				plain = append(plain, name)
			}
			repo, files, want := exampleRepo(t, name)
			t.Chdir(repo)
			checkHooks(t, hooks, files, want)
		})
	}

	// One commit touching several examples at once.
	t.Run("together", func(t *testing.T) {
		t.Setenv("AWS_REGION", "us-east-1")
		repo, files, want := exampleRepo(t, plain...)
		t.Chdir(repo)
		checkHooks(t, hooks, files, want)
	})
}

// TestPreCommitCheckARGHeldName runs Debian's pre-commit with this checkout
// as the hook repository: ecrbase-check fails on an image name held in an
// ARG, and passes once rewrite -w has pointed the ARG at ECR.
func TestPreCommitCheckARGHeldName(t *testing.T) {
	for _, tool := range []string{"pre-commit", "git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed (apt-get install pre-commit git)", tool)
		}
	}
	isolate(t)
	run := func(dir string, env []string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	git := func(dir string, args ...string) {
		t.Helper()
		if out, err := run(dir, nil, "git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.invalid"}, args...)...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// The hook repository: this checkout's files as they are now.
	hook := t.TempDir()
	out, err := run(".", nil, "git", "ls-files", "-z")
	if err != nil {
		t.Fatalf("git ls-files: %v\n%s", err, out)
	}
	for _, f := range strings.Split(strings.TrimRight(out, "\x00"), "\x00") {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		} else if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(hook, f), string(data), 0o644)
	}
	git(hook, "init", "-q")
	git(hook, "add", "-A")
	git(hook, "commit", "-q", "-m", "hook")
	rev, err := run(hook, nil, "git", "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}

	app := t.TempDir()
	writeFile(t, filepath.Join(app, "Dockerfile"), "ARG REPO=mcr.microsoft.com/dotnet/runtime-deps\nFROM $REPO:8.0-bookworm-slim\n", 0o644)
	writeFile(t, filepath.Join(app, ".pre-commit-config.yaml"), fmt.Sprintf("repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: ecrbase-check\n", hook, strings.TrimSpace(rev)), 0o644)
	git(app, "init", "-q")
	git(app, "add", "-A")

	// pre-commit builds the hook with go install; the modules come from
	// this machine's cache, not the network.
	modcache, err := run(".", nil, "go", "env", "GOMODCACHE")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PRE_COMMIT_HOME=" + t.TempDir(), "GOMODCACHE=" + strings.TrimSpace(modcache), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local"}
	out, err = run(app, env, "pre-commit", "run", "--all-files")
	if err == nil || !strings.Contains(out, "exit code: 3") || !strings.Contains(out, "Dockerfile:2 $REPO:8.0-bookworm-slim not pulled from ECR yet") {
		t.Fatalf("pre-commit run on an ARG-held name: %v, want a failure with exit code 3 naming Dockerfile:2\n%s", err, out)
	}
	t.Chdir(app)
	if code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--region", "eu-west-1", "."); code != exitOK {
		t.Fatalf("rewrite -w = %d, stderr %q", code, errOut)
	}
	git(app, "add", "-A")
	if out, err := run(app, env, "pre-commit", "run", "--all-files"); err != nil || !strings.Contains(out, "Passed") {
		t.Errorf("pre-commit run after rewrite -w: %v, want it to pass\n%s", err, out)
	}
}
