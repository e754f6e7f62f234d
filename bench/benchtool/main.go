// Command benchtool drives ecrbase's benchmark against crane, skopeo and regctl.
// bench/run installs the peers, builds the binaries and calls `benchtool run`.
//
//	benchtool run [-smoke] [-runs 3] [-seed 1] [-tools ecrbase,crane,skopeo,regctl] -bin DIR
//	benchtool stack -bin DIR          start the stack with W1 pushed and wait (for manual runs)
//	benchtool w1 -registry HOST:PORT  push workload W1 to a registry
//	benchtool dockerfiles -out DIR    write the rewrite-throughput tree
//	benchtool report -in results.json -results RESULTS.md
//	benchtool wan -bin DIR [-results RESULTS.md]   W1 and W2 over shaped links (see wan.go)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool run|wan|stack|w1|dockerfiles|report [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(ctx, os.Args[2:])
	case "stack":
		err = cmdStack(ctx, os.Args[2:])
	case "w1":
		err = cmdW1(ctx, os.Args[2:])
	case "dockerfiles":
		err = cmdDockerfiles(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	case "wan":
		err = cmdWAN(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func binsFrom(dir string) Bins {
	look := func(name string) string {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
		return name // from PATH
	}
	return Bins{
		Registry: look("docker-registry"), Moto: look("moto_server"), Hubproxy: look("hubproxy"), Htpasswd: look("htpasswd"),
		Ecrbase: look("ecrbase"), Crane: look("crane"), Regctl: look("regctl"), Skopeo: look("skopeo"), Regsync: look("regsync"),
		Parseonly: look("parseonly"), Hyperfine: look("hyperfine"), Dir: dir,
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func cmdW1(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("w1", flag.ExitOnError)
	reg := fs.String("registry", "", "registry host:port (plain HTTP)")
	seed := fs.Uint64("seed", 1, "workload seed")
	n := fs.Int("n", 20, "number of images")
	_ = fs.Parse(args)
	w := NewWorkload(*seed, *n)
	if err := w.PushAll(ctx, *reg); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(w)
}

func cmdDockerfiles(args []string) error {
	fs := flag.NewFlagSet("dockerfiles", flag.ExitOnError)
	out := fs.String("out", "", "directory to write")
	n := fs.Int("n", 1000, "number of Dockerfiles")
	seed := fs.Uint64("seed", 1, "seed")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	return WriteDockerfiles(*out, *n, *seed)
}

func cmdStack(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stack", flag.ExitOnError)
	bin := fs.String("bin", "", "directory with hubproxy and the tools")
	seed := fs.Uint64("seed", 1, "workload seed")
	n := fs.Int("n", 20, "number of images")
	_ = fs.Parse(args)
	dir, err := os.MkdirTemp("", "ecrbase-bench-")
	if err != nil {
		return err
	}
	st, err := StartStack(ctx, dir, binsFrom(*bin), false)
	if err != nil {
		return err
	}
	defer st.Close()
	w := NewWorkload(*seed, *n)
	if err := w.PushAll(ctx, st.Upstream); err != nil {
		return err
	}
	h := &Harness{Stack: st}
	fmt.Printf("dir=%s\nupstream=%s\nproxy=%s\ntarget=%s\nmoto=%s\n", dir, st.Upstream, st.Proxy, st.Target, st.MotoURL)
	for _, e := range h.env() {
		fmt.Println("export " + e)
	}
	for _, img := range w.Images {
		fmt.Printf("image %s %s %v %.1fMiB\n", img.Ref(), img.Digest, img.PlatformNames(), float64(img.Bytes)/mib)
	}
	<-ctx.Done()
	return nil
}

// Results is everything one `benchtool run` measured.
type Results struct {
	Date     string            `json:"date"`
	Machine  map[string]string `json:"machine"`
	Versions map[string]string `json:"versions"`
	Smoke    bool              `json:"smoke"`
	Runs     int               `json:"runs_per_scenario"`
	Workload struct {
		Seed        uint64      `json:"seed"`
		Images      []ImageSpec `json:"images"`
		Moved       string      `json:"moved"`
		UniqueBytes int64       `json:"unique_bytes"`
	} `json:"workload"`
	Tools   []ToolInfo     `json:"tools"`
	Records []RunRecord    `json:"records"`
	Rewrite *RewriteResult `json:"rewrite,omitempty"`
	Seconds float64        `json:"total_seconds"`
}

// ToolInfo is a tool's name and chosen options.
type ToolInfo struct {
	Name    string `json:"name"`
	Options string `json:"options"`
}

func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	bin := fs.String("bin", "", "directory with ecrbase, hubproxy, parseonly, crane, regctl")
	smoke := fs.Bool("smoke", false, "one image, one run per scenario, a small Dockerfile tree; results only printed")
	runs := fs.Int("runs", 5, "runs per tool and scenario (median reported)")
	seed := fs.Uint64("seed", 1, "workload seed")
	toolsFlag := fs.String("tools", "ecrbase,crane,skopeo,regctl,skopeo-sync", "tools to measure")
	scenarios := fs.String("scenarios", "cold,warm,moved", "scenarios to run (warm and moved start from the state the previous scenario left)")
	jobs := fs.Int("peer-jobs", 4, "crane --jobs and regctl reqConcurrent")
	nfiles := fs.Int("dockerfiles", 1000, "Dockerfiles in the rewrite tree")
	out := fs.String("out", "", "directory for results.json, the report and logs (default: a temp dir)")
	results := fs.String("results", "", "Markdown file whose generated section gets the report (full runs)")
	keep := fs.Bool("keep", false, "keep the work directory")
	_ = fs.Parse(args)
	started := time.Now()
	bins := binsFrom(*bin)
	timeBin := findTime()
	if timeBin == "" {
		return fmt.Errorf("GNU time not found at /usr/bin/time (apt-get install time)")
	}
	nimg := 20
	if *smoke {
		*runs, nimg, *nfiles = 1, 1, 20
	}
	dir, err := workDir("ecrbase-bench-", out)
	if err != nil {
		return err
	}
	failed := false
	defer func() {
		if !*keep && !failed {
			os.RemoveAll(dir)
		}
	}()

	var res Results
	res.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	res.Machine = machine()
	res.Versions = versions(bins)
	res.Smoke, res.Runs = *smoke, *runs

	which := map[string]bool{}
	for _, sc := range strings.Split(*scenarios, ",") {
		which[strings.TrimSpace(sc)] = true
	}
	var tools []Tool
	for _, name := range strings.Split(*toolsFlag, ",") {
		t, err := toolByName(bins, strings.TrimSpace(name), *jobs)
		if err != nil {
			return err
		}
		tools = append(tools, t)
		res.Tools = append(res.Tools, ToolInfo{t.Name, t.Options})
	}

	fmt.Fprintf(os.Stderr, "bench: starting registries, proxy and moto in %s\n", dir)
	st, err := StartStack(ctx, dir, bins, false)
	if err != nil {
		failed = true
		return err
	}
	defer st.Close()
	w := NewWorkload(*seed, nimg)
	t0 := time.Now()
	if err := w.PushAll(ctx, st.Upstream); err != nil {
		return err
	}
	res.Workload.Seed, res.Workload.Images, res.Workload.UniqueBytes = w.Seed, w.Images, w.UniqueBytes()
	res.Workload.Moved = w.Images[w.Moved].Ref()
	fmt.Fprintf(os.Stderr, "bench: pushed W1 (%d images, %.0f MiB unique) in %.1fs\n", len(w.Images), float64(w.UniqueBytes())/mib, time.Since(t0).Seconds())

	h := &Harness{Stack: st, W: w, Images: w.Images, Runs: *runs, Log: os.Stderr, Timeout: 10 * time.Minute, TimeBin: timeBin, Crane: bins.Crane}
	for _, img := range w.Images {
		h.expect = append(h.expect, img.Digest)
	}
	recs, err := h.Scenarios(ctx, tools, which)
	res.Records = recs
	if err != nil {
		failed = true
		return err
	}
	for _, r := range recs {
		if r.Failed > 0 || r.Mismatch > 0 || r.Err != "" {
			failed = true
		}
	}
	st.Close()

	fmt.Fprintf(os.Stderr, "bench: rewrite throughput over %d Dockerfiles\n", *nfiles)
	rw, err := RewriteBench(ctx, bins, timeBin, filepath.Join(dir, "dockerfiles"), *nfiles, *seed, !*smoke, h.env())
	if err != nil {
		return err
	}
	res.Rewrite = rw
	if rw.Err != "" {
		failed = true
	}
	res.Seconds = time.Since(started).Seconds()

	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "results.json"), b, 0o644); err != nil {
		return err
	}
	md := Report(res)
	if err := os.WriteFile(filepath.Join(*out, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	if *results != "" && !*smoke {
		if err := spliceReport(*results, md); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(*results), "results.json"), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *results)
	}
	// The work directory, and the default output folder in it, is removed
	// on success: name the raw results only where they stay.
	kept := *keep || failed || !strings.HasPrefix(*out, dir+string(filepath.Separator))
	switch {
	case *smoke && kept:
		fmt.Fprintf(os.Stderr, "bench: smoke pass done in %.0fs (the harness works; smoke figures are not measurements); raw results in %s\n", res.Seconds, filepath.Join(*out, "results.json"))
	case *smoke:
		fmt.Fprintf(os.Stderr, "bench: smoke pass done in %.0fs (the harness works; smoke figures are not measurements)\n", res.Seconds)
	case kept:
		fmt.Fprintf(os.Stderr, "bench: done in %.0fs; raw results in %s\n", res.Seconds, filepath.Join(*out, "results.json"))
	default:
		fmt.Fprintf(os.Stderr, "bench: done in %.0fs\n", res.Seconds)
	}
	if failed {
		return fmt.Errorf("some runs failed or left wrong tags; logs in %s (kept)", dir)
	}
	return nil
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "", "results.json")
	results := fs.String("results", "", "Markdown file whose generated section gets the report")
	_ = fs.Parse(args)
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("reading %s: %w", *in, err)
	}
	md := Report(res)
	if *results == "" {
		fmt.Print(md)
		return nil
	}
	return spliceReport(*results, md)
}

// workDir makes a run's directory, and its output directory: out, or when
// out is empty a directory inside it, which out is then set to.
func workDir(prefix string, out *string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if *out == "" {
		*out = filepath.Join(dir, "out")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
