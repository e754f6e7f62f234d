package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Timing summarises repeated whole-process runs of one command.
type Timing struct {
	Command   string  `json:"command"`
	Runs      int     `json:"runs"`
	Mean      float64 `json:"mean_seconds"`
	Stddev    float64 `json:"stddev_seconds"`
	Median    float64 `json:"median_seconds"`
	Min       float64 `json:"min_seconds"`
	CPU       float64 `json:"cpu_seconds"` // mean user+sys per run
	MaxRSSKiB int64   `json:"max_rss_kib"`
	Exit      int     `json:"exit"`
}

// RewriteResult compares `ecrbase rewrite --check` with BuildKit parse-only.
type RewriteResult struct {
	Files     int    `json:"files"`
	Changed   int    `json:"changed"`  // files --check lists as needing a rewrite
	Warnings  int    `json:"warnings"` // stderr lines of ecrbase
	Timer     string `json:"timer"`
	ParseOnly Timing `json:"parse_only"`
	// ParseOnlyParallel parses on every core, as ecrbase's rewrite does.
	ParseOnlyParallel Timing  `json:"parse_only_parallel"`
	Ecrbase           Timing  `json:"ecrbase"`
	Ratio             float64 `json:"ratio"`          // ecrbase mean / parse-only mean
	RatioParallel     float64 `json:"ratio_parallel"` // ecrbase mean / parallel parse-only mean
	Err               string  `json:"error,omitempty"`
}

type once struct {
	stdout, stderr string
	code           int
	maxRSS         int64
	wall           time.Duration
}

func runOnce(ctx context.Context, timeBin string, env []string, argv []string) once {
	var o, e bytes.Buffer
	m := measure(ctx, timeBin, env, argv, &o, &e)
	return once{stdout: o.String(), stderr: e.String(), code: m.code, maxRSS: m.maxRSS, wall: m.wall}
}

func lines(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// listedFiles counts the files rewrite --check names: it prints one
// "file:line image why" line per pull that does not go to ECR.
func listedFiles(stdout string) int {
	files := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		loc, _, _ := strings.Cut(line, " ")
		if i := strings.LastIndexByte(loc, ':'); i > 0 {
			files[loc[:i]] = true
		}
	}
	return len(files)
}

// RewriteBench writes n Dockerfiles under dir and times `ecrbase rewrite --check dir`
// against `parseonly dir`, with hyperfine when full is set and it is installed.
func RewriteBench(ctx context.Context, bins Bins, timeBin string, dir string, n int, seed uint64, full bool, env []string) (*RewriteResult, error) {
	if err := WriteDockerfiles(dir, n, seed); err != nil {
		return nil, err
	}
	res := &RewriteResult{}
	po := []string{bins.Parseonly, dir}
	pp := []string{bins.Parseonly, "-j", fmt.Sprint(runtime.NumCPU()), dir}
	eb := []string{bins.Ecrbase, "rewrite", "--check", dir}
	res.ParseOnly.Command = "parseonly TREE"
	res.ParseOnlyParallel.Command = fmt.Sprintf("parseonly -j %d TREE", runtime.NumCPU())
	res.Ecrbase.Command = "ecrbase rewrite --check TREE"

	p := runOnce(ctx, timeBin, env, po)
	res.ParseOnly.Exit, res.ParseOnly.MaxRSSKiB = p.code, p.maxRSS
	fmt.Sscanf(p.stderr, "parsed %d files", &res.Files)
	q := runOnce(ctx, timeBin, env, pp)
	res.ParseOnlyParallel.Exit, res.ParseOnlyParallel.MaxRSSKiB = q.code, q.maxRSS
	e := runOnce(ctx, timeBin, env, eb)
	res.Ecrbase.Exit, res.Ecrbase.MaxRSSKiB = e.code, e.maxRSS
	res.Changed, res.Warnings = listedFiles(e.stdout), lines(e.stderr)
	logf := filepath.Join(filepath.Dir(dir), "logs", "rewrite-check.log")
	_ = os.WriteFile(logf, []byte("stdout:\n"+e.stdout+"\nstderr:\n"+e.stderr), 0o644)
	fmt.Fprintf(os.Stderr, "  parseonly exit %d (%s), ecrbase rewrite --check exit %d: %d files listed, %d stderr lines; output in %s\n",
		p.code, strings.TrimSpace(p.stderr), e.code, res.Changed, res.Warnings, logf)
	for _, o := range []once{p, q} {
		if o.code != 0 {
			res.Err = fmt.Sprintf("parseonly exited %d: %s", o.code, firstLine(o.stderr))
			return res, nil
		}
	}
	if e.code != 0 && e.code != 3 {
		res.Err = fmt.Sprintf("ecrbase rewrite --check exited %d: %s", e.code, firstLine(e.stderr))
		return res, nil
	}

	timings := []*Timing{&res.ParseOnly, &res.ParseOnlyParallel, &res.Ecrbase}
	cmds := [][]string{po, pp, eb}
	if full && bins.Hyperfine != "" {
		if _, err := exec.LookPath(bins.Hyperfine); err == nil {
			if err := hyperfine(ctx, bins.Hyperfine, env, filepath.Dir(dir), res, timings, cmds); err != nil {
				return nil, err
			}
			res.ratios()
			return res, nil
		}
	}
	// Without hyperfine: take turns and summarise.
	runs := 3
	if full {
		runs = 15
	}
	walls, cpus := make([][]float64, len(cmds)), make([][]float64, len(cmds))
	for i := 0; i < runs; i++ {
		for j, c := range cmds {
			m := measure(ctx, "", env, c, io.Discard, io.Discard)
			walls[j] = append(walls[j], m.wall.Seconds())
			cpus[j] = append(cpus[j], m.cpu.Seconds())
		}
	}
	res.Timer = "benchtool, commands taking turns"
	for j, t := range timings {
		fill(t, walls[j])
		for _, c := range cpus[j] {
			t.CPU += c / float64(len(cpus[j]))
		}
	}
	res.ratios()
	return res, nil
}

func (r *RewriteResult) ratios() {
	r.Ratio = r.Ecrbase.Mean / r.ParseOnly.Mean
	r.RatioParallel = r.Ecrbase.Mean / r.ParseOnlyParallel.Mean
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func fill(t *Timing, xs []float64) {
	t.Runs = len(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	t.Mean = sum / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - t.Mean) * (x - t.Mean)
	}
	if len(xs) > 1 {
		t.Stddev = math.Sqrt(v / float64(len(xs)-1))
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	t.Min, t.Median = s[0], median(s)
}

func hyperfine(ctx context.Context, bin string, env []string, dir string, res *RewriteResult, timings []*Timing, cmds [][]string) error {
	out := filepath.Join(dir, "hyperfine.json")
	// -N runs the commands without a shell; -i because --check exits 3 when it finds
	// files to rewrite (its exit status was checked above).
	args := []string{"-N", "-i", "--warmup", "3", "--runs", "20", "--export-json", out}
	for _, c := range cmds {
		args = append(args, strings.Join(c, " "))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running hyperfine: %w", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var hf struct {
		Results []struct {
			Mean   float64   `json:"mean"`
			Stddev float64   `json:"stddev"`
			Median float64   `json:"median"`
			Min    float64   `json:"min"`
			User   float64   `json:"user"`
			System float64   `json:"system"`
			Times  []float64 `json:"times"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &hf); err != nil {
		return fmt.Errorf("reading %s: %w", out, err)
	}
	if len(hf.Results) != len(timings) {
		return fmt.Errorf("reading %s: want %d results, got %d", out, len(timings), len(hf.Results))
	}
	for i, t := range timings {
		r := hf.Results[i]
		t.Runs, t.Mean, t.Stddev, t.Median, t.Min, t.CPU = len(r.Times), r.Mean, r.Stddev, r.Median, r.Min, r.User+r.System
	}
	res.Timer = "hyperfine -N --warmup 3 --runs 20"
	return nil
}
