package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// `benchtool wan` runs the two WAN workloads over shaped links (see Shaper):
// "Docker Hub" (the counting proxy, asking for bearer tokens) HubRTT away,
// "ECR" and its API ECRRTT away.
//
//	W1  the 20 images of `benchtool run`, cold, warm and one index moved,
//	    against crane and regctl (loops, one process per image) and the
//	    catalogue tools regsync and skopeo sync;
//	W2  a catalogue of 300 small images (NewCatalogue): warm, 5% of the tags
//	    moved, and cold with a cap on what "Docker Hub" sends, against
//	    regsync once and skopeo sync.
const (
	wanBegin = "<!-- bench/run --wan writes from here -->"
	wanEnd   = "<!-- bench/run --wan writes up to here -->"
)

// WANResults is everything one `benchtool wan` measured.
type WANResults struct {
	Date      string            `json:"date"`
	Machine   map[string]string `json:"machine"`
	Versions  map[string]string `json:"versions"`
	HubRTTms  int64             `json:"hub_rtt_ms"`
	ECRRTTms  int64             `json:"ecr_rtt_ms"`
	ColdCap   int64             `json:"w2_cold_cap_bytes_per_sec"`
	Workloads []WANWorkload     `json:"workloads"`
	Tools     []ToolInfo        `json:"tools"`
	Seconds   float64           `json:"total_seconds"`
}

// WANWorkload is one workload's runs.
type WANWorkload struct {
	Name        string      `json:"name"`
	Images      int         `json:"images"`
	Repos       int         `json:"repositories"`
	Manifests   int         `json:"platform_manifests"`
	Moved       int         `json:"moved"`
	UniqueBytes int64       `json:"unique_bytes"`
	Tools       []string    `json:"tools"`
	Records     []RunRecord `json:"records"`
}

func cmdWAN(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wan", flag.ExitOnError)
	bin := fs.String("bin", "", "directory with ecrbase, hubproxy, crane, regctl, regsync")
	runs := fs.Int("runs", 1, "runs per tool and scenario (median reported)")
	seed := fs.Uint64("seed", 1, "workload seed")
	hubRTT := fs.Duration("hub-rtt", 40*time.Millisecond, "round-trip time to \"Docker Hub\"")
	ecrRTT := fs.Duration("ecr-rtt", 10*time.Millisecond, "round-trip time to \"ECR\" and its API")
	coldCap := fs.Float64("cold-cap", 8, "MiB/s \"Docker Hub\" sends at most in W2 cold (0: no cap)")
	workloads := fs.String("workloads", "w1,w2", "workloads to run")
	scenarios := fs.String("scenarios", "cold,warm,moved", "scenarios to run")
	w1Tools := fs.String("w1-tools", "ecrbase,crane,regctl,regsync,skopeo-sync", "tools for W1")
	w2Tools := fs.String("w2-tools", "ecrbase,ecrbase@lan,regsync,skopeo-sync", "tools for W2 (ecrbase@lan: the same runs unshaped)")
	repos := fs.Int("repos", 100, "W2 repositories")
	tags := fs.Int("tags", 3, "W2 tags per repository")
	layer := fs.Int("layer", 64<<10, "W2 bytes of each platform's own layer")
	jobs := fs.Int("peer-jobs", 4, "crane --jobs and regctl reqConcurrent")
	out := fs.String("out", "", "directory for results-wan.json and the report (default: a temp dir)")
	results := fs.String("results", "", "Markdown file whose WAN section gets the report")
	keep := fs.Bool("keep", false, "keep the work directory")
	_ = fs.Parse(args)
	started := time.Now()
	bins := binsFrom(*bin)
	timeBin := findTime()
	if timeBin == "" {
		return fmt.Errorf("GNU time not found at /usr/bin/time (apt-get install time)")
	}
	dir, err := workDir("ecrbase-bench-wan-", out)
	if err != nil {
		return err
	}
	failed := false
	defer func() {
		if !*keep && !failed {
			os.RemoveAll(dir)
		}
	}()
	capBps := int64(*coldCap * mib)
	res := WANResults{
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: machine(), Versions: versions(bins),
		HubRTTms: hubRTT.Milliseconds(), ECRRTTms: ecrRTT.Milliseconds(), ColdCap: capBps,
	}
	res.Versions["regsync"] = firstOutputLine(bins.Regsync, "version", "--format", "{{.VCSTag}}")
	which := map[string]bool{}
	for _, sc := range strings.Split(*scenarios, ",") {
		which[strings.TrimSpace(sc)] = true
	}
	fmt.Fprintf(os.Stderr, "bench: starting the shaped stack in %s\n", dir)
	st, err := StartStack(ctx, dir, bins, true)
	if err != nil {
		failed = true
		return err
	}
	defer st.Close()
	seenTool := map[string]bool{}
	for _, wl := range strings.Split(*workloads, ",") {
		wl = strings.TrimSpace(wl)
		var w Workload
		var toolNames string
		switch wl {
		case "w1":
			w, toolNames = NewWorkload(*seed, 20), *w1Tools
		case "w2":
			w, toolNames = NewCatalogue(*seed, *repos, *tags, *layer), *w2Tools
		default:
			return fmt.Errorf("unknown workload %q (w1, w2)", wl)
		}
		var tools []Tool
		for _, name := range strings.Split(toolNames, ",") {
			t, err := toolByName(bins, strings.TrimSpace(name), *jobs)
			if err != nil {
				return err
			}
			tools = append(tools, t)
			if !seenTool[t.Name] {
				seenTool[t.Name] = true
				res.Tools = append(res.Tools, ToolInfo{t.Name, t.Options})
			}
		}
		st.SetWAN(0, 0, 0)
		t0 := time.Now()
		if err := w.PushAll(ctx, st.Upstream); err != nil {
			failed = true
			return err
		}
		rec := WANWorkload{Name: strings.ToUpper(wl), Images: len(w.Images), Moved: len(w.MovedImages()), UniqueBytes: w.UniqueBytes()}
		repoSet := map[string]bool{}
		for _, img := range w.Images {
			repoSet[img.Repo] = true
			rec.Manifests += len(img.Platforms)
		}
		rec.Repos = len(repoSet)
		for _, t := range tools {
			rec.Tools = append(rec.Tools, t.Name)
		}
		fmt.Fprintf(os.Stderr, "bench: pushed %s (%d images, %.1f MiB unique) in %.1fs\n", rec.Name, len(w.Images), float64(w.UniqueBytes())/mib, time.Since(t0).Seconds())
		h := &Harness{Stack: st, W: w, Images: w.Images, Runs: *runs, Log: os.Stderr, Timeout: 20 * time.Minute, TimeBin: timeBin, Crane: bins.Crane}
		for _, img := range w.Images {
			h.expect = append(h.expect, img.Digest)
		}
		h.Shape = func(scenario string) {
			if scenario == "prime" || scenario == "none" {
				st.SetWAN(0, 0, 0)
				return
			}
			var c int64
			if wl == "w2" && scenario == "cold" {
				c = capBps
			}
			st.SetWAN(*hubRTT, *ecrRTT, c)
		}
		recs, err := h.Scenarios(ctx, tools, which)
		rec.Records = recs
		res.Workloads = append(res.Workloads, rec)
		for _, r := range recs {
			if r.Failed > 0 || r.Mismatch > 0 || r.Err != "" {
				failed = true
			}
		}
		if err != nil {
			failed = true
			break
		}
	}
	st.Close()
	res.Seconds = time.Since(started).Seconds()
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "results-wan.json"), b, 0o644); err != nil {
		return err
	}
	md := ReportWAN(res)
	if err := os.WriteFile(filepath.Join(*out, "report-wan.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	if failed {
		return fmt.Errorf("some runs failed or left wrong tags; logs in %s (kept)", dir)
	}
	if *results != "" {
		if err := spliceBetween(*results, md, wanBegin, wanEnd); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(*results), "results-wan.json"), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *results)
	}
	fmt.Fprintf(os.Stderr, "bench: WAN runs done in %.0fs\n", res.Seconds)
	return nil
}

// ReportWAN renders the WAN results as Markdown.
func ReportWAN(res WANResults) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## WAN results (`bench/run --wan`)\n\n")
	p("%s; %s. \"Docker Hub\" %d ms away (asking for a bearer token per repository scope), \"ECR\" and its API %d ms away, "+
		"through TCP shapers in front of the proxy, the TLS target and the API; W2 cold also caps what \"Docker Hub\" sends at %.0f MiB/s. "+
		"Median of the runs; tags verified after every run. Per image: requests divided by the images in the list.\n\n",
		res.Date, fmt.Sprintf("%s CPUs (%s), %s", res.Machine["nproc"], res.Machine["cpu"], res.Machine["memory"]), res.HubRTTms, res.ECRRTTms, float64(res.ColdCap)/mib)
	var summary []string
	for _, w := range res.Workloads {
		p("### %s: %d images in %d repositories (%d platform manifests), %.1f MiB unique; moved: %d\n\n", w.Name, w.Images, w.Repos, w.Manifests, float64(w.UniqueBytes)/mib, w.Moved)
		p("| scenario | tool | wall s | RTTs of %d ms | ecrbase ÷ tool | HEAD/img | GET/img | token/img | hub req/img | ECR req/img | ECR API/img | hub conns | ECR conns | MiB from hub | ok |\n", res.HubRTTms)
		p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
		for _, sc := range []string{"cold", "warm", "moved"} {
			by := map[string][]RunRecord{}
			for _, r := range w.Records {
				if r.Scenario == sc {
					by[r.Tool] = append(by[r.Tool], r)
				}
			}
			if len(by) == 0 {
				continue
			}
			ebWall := medianOf(by["ecrbase"], func(r RunRecord) float64 { return r.WallSeconds })
			label := sc
			if sc == "cold" && len(by["ecrbase"]) > 0 && by["ecrbase"][0].HubCapBps > 0 {
				c := by["ecrbase"][0].HubCapBps
				mb := medianOf(by["ecrbase"], func(r RunRecord) float64 { return float64(r.BlobBytes) })
				label = fmt.Sprintf("cold, %.0f MiB/s (ecrbase's bytes ÷ cap: %.2f s)", float64(c)/mib, mb/float64(c))
			}
			n := float64(w.Images)
			for _, tool := range w.Tools {
				rs := by[tool]
				if len(rs) == 0 {
					continue
				}
				m := func(f func(RunRecord) float64) float64 { return medianOf(rs, f) }
				wall := m(func(r RunRecord) float64 { return r.WallSeconds })
				ok := 0
				for _, r := range rs {
					if r.Failed == 0 && r.Mismatch == 0 && r.Err == "" {
						ok++
					}
				}
				rt := "—"
				if res.HubRTTms > 0 {
					rt = fmt.Sprintf("%.0f", wall*1000/float64(res.HubRTTms))
				}
				cmp := "—"
				if tool != "ecrbase" {
					cmp = ratio(ebWall, wall)
				}
				p("| %s | %s | %.2f | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.1f | %d/%d |\n", label, tool, wall, rt, cmp,
					m(func(r RunRecord) float64 { return float64(r.ManifestHeads) })/n,
					m(func(r RunRecord) float64 { return float64(r.ManifestGets) })/n,
					m(func(r RunRecord) float64 { return float64(r.Tokens) })/n,
					m(func(r RunRecord) float64 { return float64(r.HubRequests + r.Tokens + r.Challenges) })/n,
					m(func(r RunRecord) float64 { return float64(r.ECRRequests) })/n,
					m(func(r RunRecord) float64 { return float64(r.APICalls) })/n,
					m(func(r RunRecord) float64 { return float64(r.HubConns) }),
					m(func(r RunRecord) float64 { return float64(r.ECRConns) }),
					m(func(r RunRecord) float64 { return float64(r.BlobBytes) })/mib, ok, len(rs))
				label = ""
			}
			if line := summaryLine(sc, by, res.HubRTTms); line != "" {
				summary = append(summary, fmt.Sprintf("- %s %s: %s", w.Name, sc, line))
			}
		}
		p("\n")
	}
	if len(summary) > 0 {
		p("Summary (medians):\n\n%s\n\n", strings.Join(summary, "\n"))
	}
	p("Tools and options:\n\n")
	for _, t := range res.Tools {
		p("- **%s**: %s\n", t.Name, t.Options)
	}
	var vs []string
	for k, v := range res.Versions {
		vs = append(vs, k+" "+v)
	}
	slices.Sort(vs)
	p("\nVersions: %s. Total %.0f s.\n", strings.Join(vs, "; "), res.Seconds)
	return b.String()
}

func medianOf(rs []RunRecord, f func(RunRecord) float64) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

// summaryLine compares ecrbase with the faster catalogue peer, with its own
// unshaped run (what the round trips cost) and, capped, with bytes ÷ cap.
func summaryLine(sc string, by map[string][]RunRecord, rttMs int64) string {
	eb := by["ecrbase"]
	if len(eb) == 0 {
		return ""
	}
	wall := func(rs []RunRecord) float64 { return medianOf(rs, func(r RunRecord) float64 { return r.WallSeconds }) }
	e := wall(eb)
	var parts []string
	best, bestName := 0.0, ""
	for _, peer := range []string{"regsync", "skopeo-sync"} {
		if rs := by[peer]; len(rs) > 0 && (bestName == "" || wall(rs) < best) {
			best, bestName = wall(rs), peer
		}
	}
	if bestName != "" {
		parts = append(parts, fmt.Sprintf("ecrbase %.2f s ÷ %s %.2f s = %.2f", e, bestName, best, e/best))
	}
	if lan := by["ecrbase@lan"]; len(lan) > 0 && rttMs > 0 {
		l := wall(lan)
		parts = append(parts, fmt.Sprintf("unshaped %.2f s, so the round trips cost %.2f s = %.0f RTTs of %d ms", l, e-l, (e-l)*1000/float64(rttMs), rttMs))
	}
	if c := eb[0].HubCapBps; c > 0 {
		ideal := medianOf(eb, func(r RunRecord) float64 { return float64(r.BlobBytes) }) / float64(c)
		parts = append(parts, fmt.Sprintf("bytes ÷ cap %.2f s, ecrbase ÷ that = %.2f", ideal, e/ideal))
	}
	return strings.Join(parts, "; ")
}
