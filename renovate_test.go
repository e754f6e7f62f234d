package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ecrbase/rewrite"
)

func TestRenovateAliases(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, ".git/HEAD", "", 0o644)
	writeFile(t, "a/Dockerfile", "FROM python:3.7\nCOPY --from=quay.io/x/y:1 / /\n", 0o644)
	writeFile(t, "b/Dockerfile", "ARG Account_ID\nARG Region=eu-west-1\nFROM ${Account_ID}.dkr.ecr.${Region}.amazonaws.com/hub/library/alpine:3\n", 0o644)
	code, out, errOut := ecrbase(t, "", "renovate", "--region", "us-east-2", "--prefix", "docker.io=hub", ".")
	if code != exitOK {
		t.Fatalf("renovate = %d, stderr %q", code, errOut)
	}
	var cfg struct {
		RegistryAliases map[string]string `json:"registryAliases"`
		PackageRules    []any             `json:"packageRules"`
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("renovate output is not JSON: %v\n%s", err, out)
	}
	for key, want := range map[string]string{
		"${AWS_ACCOUNT_ID}.dkr.ecr.us-east-2.amazonaws.com/hub":  "docker.io",
		"${AWS_ACCOUNT_ID}.dkr.ecr.us-east-2.amazonaws.com/quay": "quay.io",
		"${Account_ID}.dkr.ecr.eu-west-1.amazonaws.com/hub":      "docker.io",
		"${Account_ID}.dkr.ecr.eu-west-1.amazonaws.com/ghcr.io":  "",
	} {
		if got := cfg.RegistryAliases[key]; got != want {
			t.Errorf("registryAliases[%q] = %q, want %q", key, got, want)
		}
	}
	if len(cfg.PackageRules) != 0 {
		t.Errorf("packageRules without platforms: %v", cfg.PackageRules)
	}

	// --merge keeps the other settings and aliases, and -w writes the file.
	writeFile(t, "renovate.json", `{"extends": ["config:recommended"], "registryAliases": {"mine": "docker.io"}, "packageRules": [{"description": "ecrbase: old", "enabled": false}, {"matchPackageNames": ["x"]}]}`, 0o644)
	code, _, errOut = ecrbase(t, "", "renovate", "--region", "us-east-2", "--platform", "linux/amd64", "--merge", "renovate.json", "-w", "a")
	if code != exitOK {
		t.Fatalf("renovate --merge -w = %d, stderr %q", code, errOut)
	}
	var merged struct {
		Extends         []string          `json:"extends"`
		RegistryAliases map[string]string `json:"registryAliases"`
		PackageRules    []struct {
			Description       string   `json:"description"`
			MatchPackageNames []string `json:"matchPackageNames"`
		} `json:"packageRules"`
	}
	data := readFile(t, "renovate.json")
	if err := json.Unmarshal([]byte(data), &merged); err != nil {
		t.Fatalf("merged renovate.json: %v\n%s", err, data)
	}
	if !strings.HasPrefix(data, "{\n  \"extends\"") || merged.RegistryAliases["mine"] != "docker.io" ||
		merged.RegistryAliases["${AWS_ACCOUNT_ID}.dkr.ecr.us-east-2.amazonaws.com/docker-hub"] != "docker.io" {
		t.Errorf("merged renovate.json lost a setting or an alias:\n%s", data)
	}
	var descs []string
	for _, r := range merged.PackageRules {
		descs = append(descs, r.Description)
	}
	if len(merged.PackageRules) != 2 || merged.PackageRules[0].Description != "" ||
		!strings.HasPrefix(merged.PackageRules[1].Description, "ecrbase: mirror copies only linux/amd64") ||
		!slices.Equal(merged.PackageRules[1].MatchPackageNames, []string{"docker.io/library/python", "quay.io/x/y"}) {
		t.Errorf("merged packageRules = %v; want the user's rule and ecrbase's new one", merged.PackageRules)
	}

	for _, args := range [][]string{
		{"renovate", "--write", "a"},
		{"renovate", "--format", "table", "--merge", "renovate.json", "a"},
	} {
		if code, _, _ := ecrbase(t, "", args...); code != exitUsage {
			t.Errorf("ecrbase %q = %d, want %d", args, code, exitUsage)
		}
	}
	writeFile(t, "broken.json", "[1]", 0o644)
	if code, _, errOut := ecrbase(t, "", "renovate", "--merge", "broken.json", "a"); code != exitError || !strings.Contains(errOut, "broken.json") {
		t.Errorf("renovate --merge broken.json = %d, %q", code, errOut)
	}
}

// TestRenovateExtractsEveryReference runs the real Renovate (39.x, from
// npm) in --dry-run=extract mode over the examples' rewritten Dockerfiles
// and a rewritten file per region default, with the configuration
// `ecrbase renovate` prints: every ECR reference must come out with its
// upstream packageName and tag, and no dependency may be skipped. Renovate
// runs in a network namespace of its own when it can, and its own
// statistics must show no HTTP request.
func TestRenovateExtractsEveryReference(t *testing.T) {
	renovateBin, err := exec.LookPath("renovate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("renovate is not installed (npm install -g renovate@39); CI must run this test")
		}
		t.Skip("renovate not installed (npm install -g renovate@39)")
	}
	if testing.Short() {
		t.Skip("Renovate takes a minute")
	}
	examples, err := filepath.Abs("examples")
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	t.Chdir(repo)
	gitCmd(t, repo, "init", "-q", ".")
	// The examples as converted repositories.
	for _, name := range []string{"already-converted", "go-multistage", "node-app", "python-app"} {
		data, err := os.ReadFile(filepath.Join(examples, name, "rewritten.txt"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(name, "Dockerfile"), string(data), 0o644)
	}
	for _, f := range []string{".ecrbase.yaml", "ecr-lifecycle.json", "web/rewritten.txt"} {
		data, err := os.ReadFile(filepath.Join(examples, "custom-config", f))
		if err != nil {
			t.Fatal(err)
		}
		f = strings.Replace(f, "rewritten.txt", "Dockerfile", 1)
		writeFile(t, filepath.Join("custom-config", f), string(data), 0o644)
	}
	// A file per region default (and none), every kind of reference.
	source := "FROM python:3.12 AS app\nCOPY --from=quay.io/prometheus/busybox:latest /bin/sh /sh\n" +
		"RUN --mount=type=bind,from=ghcr.io/org/tools:2.1,target=/t true\nFROM registry.k8s.io/pause:3.9\n"
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", ""}
	for _, region := range regions {
		dir := "regions/" + region
		if region == "" {
			dir = "regions/none"
		}
		writeFile(t, dir+"/Dockerfile", source, 0o644)
		args := []string{"rewrite", "-w"}
		if region != "" {
			args = append(args, "--region", region)
		} else {
			t.Setenv("AWS_REGION", "")
			os.Unsetenv("AWS_REGION")
		}
		args = append(args, dir)
		if code, _, errOut := ecrbase(t, "", args...); code != exitOK {
			t.Fatalf("ecrbase %q = %d, %s", args, code, errOut)
		}
	}
	// Another account ARG name, and a digest pinned by mirror --pin.
	writeFile(t, "accounts/Dockerfile", "FROM public.ecr.aws/docker/library/golang:1.26\n", 0o644)
	if code, _, errOut := ecrbase(t, "", "rewrite", "-w", "--account-arg", "Account_ID", "--region", "sa-east-1", "accounts"); code != exitOK {
		t.Fatalf("rewrite accounts = %d, %s", code, errOut)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	writeFile(t, "pinned/Dockerfile", "ARG AWS_ACCOUNT_ID\nARG AWS_REGION=eu-central-1\n"+
		"FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.12@"+digest+"\n", 0o644)

	// The configuration: from the root, then from custom-config with its
	// .ecrbase.yaml, merged into one renovate.json.
	if code, _, errOut := ecrbase(t, "", "renovate", "--merge", "renovate.json", "-w", "."); code != exitOK {
		t.Fatalf("renovate --merge = %d, %s", code, errOut)
	}
	t.Chdir(filepath.Join(repo, "custom-config"))
	if code, _, errOut := ecrbase(t, "", "renovate", "--merge", "../renovate.json", "-w"); code != exitOK {
		t.Fatalf("renovate --merge in custom-config = %d, %s", code, errOut)
	}
	t.Chdir(repo)
	gitCmd(t, repo, "add", "-A")
	gitCmd(t, repo, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "rewritten")

	// What ecrbase says each file pulls from ECR: file -> upstream name:tag.
	want := map[string][]string{}
	files, err := rewrite.Discover([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		opts := rewrite.Options{}
		if strings.HasPrefix(f, "custom-config/") {
			opts.Prefixes = map[string]string{"docker.io": "web/docker-hub", "quay.io": "web/quay"}
			opts.AccountArg, opts.RegionArg = "Account_ID", "Region"
		}
		res, err := rewrite.File(f, data, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed {
			t.Errorf("%s is not fully rewritten", f)
		}
		for _, r := range res.Refs {
			if r.Status == rewrite.StatusAlreadyECR {
				if r.Upstream == "" {
					t.Errorf("%s:%d: ecrbase knows no upstream for %s", f, r.Line, r.Text)
				}
				want[f] = append(want[f], r.Upstream)
			}
		}
	}

	cache := t.TempDir()
	report := filepath.Join(cache, "report.json")
	argv := []string{renovateBin, "--platform=local", "--dry-run=extract", "--report-type=file", "--report-path=" + report}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("unshare"); err == nil {
			argv = append([]string{"unshare", "--net", "--"}, argv...)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "LOG_LEVEL=debug", "LOG_FORMAT=json", "RENOVATE_BASE_DIR="+cache,
		"RENOVATE_CACHE_DIR="+filepath.Join(cache, "cache"), "RENOVATE_CONFIG_FILE=", "RENOVATE_TOKEN=",
		"GITHUB_COM_TOKEN=", "RENOVATE_ONBOARDING=false", "RENOVATE_REQUIRE_CONFIG=optional")
	var logOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logOut, &logOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("renovate: %v\n%s", err, tail(logOut.String(), 4000))
	}
	requests := -1
	for sc := bufio.NewScanner(&logOut); sc.Scan(); {
		var line struct {
			Msg      string `json:"msg"`
			Requests *int   `json:"requests"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "HTTP statistics" && line.Requests != nil {
			requests = *line.Requests
		}
	}
	if requests != 0 {
		t.Errorf("Renovate's HTTP statistics: %d requests, want 0 (or none reported)", requests)
	}

	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Repositories map[string]struct {
			PackageFiles map[string][]struct {
				PackageFile string `json:"packageFile"`
				Deps        []struct {
					DepName       string `json:"depName"`
					PackageName   string `json:"packageName"`
					CurrentValue  string `json:"currentValue"`
					CurrentDigest string `json:"currentDigest"`
					SkipReason    string `json:"skipReason"`
				} `json:"deps"`
			} `json:"packageFiles"`
		} `json:"repositories"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	extracted, skipped := 0, 0
	for _, r := range rep.Repositories {
		for _, pf := range r.PackageFiles["dockerfile"] {
			for _, d := range pf.Deps {
				if d.SkipReason != "" {
					skipped++
					t.Errorf("%s: Renovate skipped %s (%s)", pf.PackageFile, d.DepName, d.SkipReason)
					continue
				}
				if !strings.Contains(d.DepName, ".dkr.ecr.") {
					continue
				}
				extracted++
				ref := d.PackageName + ":" + d.CurrentValue
				if d.CurrentDigest != "" {
					ref += "@" + d.CurrentDigest
				}
				got[pf.PackageFile] = append(got[pf.PackageFile], ref)
			}
		}
	}
	for f := range want {
		slices.Sort(want[f])
		slices.Sort(got[f])
		if !slices.Equal(want[f], got[f]) {
			t.Errorf("%s: Renovate extracted %v, want %v", f, got[f], want[f])
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("%s: Renovate extracted %v, ecrbase reports no ECR reference", f, got[f])
		}
	}
	t.Logf("Renovate extracted %d ECR references from %d files, skipped %d", extracted, len(got), skipped)
}

func gitCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestRenovateReadmeOutput: the README's ecrbase renovate example is what
// the command prints in examples/custom-config.
func TestRenovateReadmeOutput(t *testing.T) {
	section := readmeSection(t, "### Renovate")
	const cmd = "$ cd examples/custom-config && ecrbase renovate --format table\n"
	i := strings.Index(section, cmd)
	if i < 0 {
		t.Fatalf("README's Renovate section has no %q", cmd)
	}
	want, _, _ := strings.Cut(section[i+len(cmd):], "```")
	t.Chdir("examples/custom-config")
	code, out, errOut := ecrbase(t, "", "renovate", "--format", "table")
	if code != exitOK || out != want {
		t.Errorf("ecrbase renovate --format table = %d (stderr %q):\n%s\nREADME says:\n%s", code, errOut, out, want)
	}
}
