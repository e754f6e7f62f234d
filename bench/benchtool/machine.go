package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes the host the numbers come from.
func machine() map[string]string {
	m := map[string]string{"nproc": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		for _, line := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kib); err == nil {
				m["memory"] = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m["os"] = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

func firstOutputLine(argv ...string) string {
	b, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(b) == 0 {
		return "unknown (" + err.Error() + ")"
	}
	return firstLine(string(b))
}

// versions records what was measured.
func versions(b Bins) map[string]string {
	v := map[string]string{
		"crane":           firstOutputLine(b.Crane, "version"),
		"regctl":          firstOutputLine(b.Regctl, "version", "--format", "{{.VCSTag}}"),
		"skopeo":          firstOutputLine(b.Skopeo, "--version"),
		"docker-registry": firstOutputLine(b.Registry, "--version"),
		"ecrbase":         sourceVersion(),
	}
	if _, err := exec.LookPath(b.Hyperfine); err == nil {
		v["hyperfine"] = firstOutputLine(b.Hyperfine, "--version")
	}
	return v
}

// sourceVersion is the commit ecrbase was built from, with "-dirty" when files
// other than the benchmark's own results differ from it.
func sourceVersion() string {
	v := firstOutputLine("git", "rev-parse", "--short", "HEAD")
	out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--",
		".", ":!bench/RESULTS.md", ":!bench/results.json", ":!bench/results-wan.json").Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		v += "-dirty"
	}
	return v
}
