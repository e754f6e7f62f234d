package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

const (
	beginMark = "<!-- bench/run writes from here -->"
	endMark   = "<!-- bench/run writes up to here -->"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell is the median of one tool×scenario.
type cell struct {
	n, ok                 int
	wall, cpu, rss        float64 // s, s, MiB
	server                float64 // s
	wallMin, wallMax      float64
	gets, heads, blobGets float64
	mib                   float64
	runs                  []RunRecord
}

func summarize(recs []RunRecord) cell {
	var c cell
	var wall, cpu, rss, gets, heads, bg, by, srv []float64
	for _, r := range recs {
		c.n++
		if r.Failed == 0 && r.Mismatch == 0 && r.Err == "" {
			c.ok++
		}
		wall = append(wall, r.WallSeconds)
		cpu = append(cpu, r.CPUSeconds)
		srv = append(srv, r.ServerCPU)
		rss = append(rss, float64(r.MaxRSSKiB)/1024)
		gets = append(gets, float64(r.ManifestGets))
		heads = append(heads, float64(r.ManifestHeads))
		bg = append(bg, float64(r.BlobGets))
		by = append(by, float64(r.BlobBytes)/mib)
	}
	c.wall, c.cpu, c.rss, c.server = median(wall), median(cpu), median(rss), median(srv)
	c.gets, c.heads, c.blobGets, c.mib = median(gets), median(heads), median(bg), median(by)
	c.runs = recs
	if len(wall) > 0 {
		c.wallMin, c.wallMax = slices.Min(wall), slices.Max(wall)
	}
	return c
}

func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "="
		}
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// pairedRatio is the median over rounds of ecrbase's wall time divided by the
// tool's in the same round: the tools run back to back within a round, so a
// change in background load affects both sides of each ratio alike.
func pairedRatio(eb, tool []RunRecord) string {
	walls := map[int]float64{}
	for _, r := range eb {
		walls[r.Run] = r.WallSeconds
	}
	var rs []float64
	for _, r := range tool {
		if w, ok := walls[r.Run]; ok && r.WallSeconds > 0 {
			rs = append(rs, w/r.WallSeconds)
		}
	}
	if len(rs) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", median(rs))
}

func num(x float64) string {
	if x == float64(int64(x)) {
		return fmt.Sprint(int64(x))
	}
	return fmt.Sprintf("%.1f", x)
}

// Report renders results as Markdown.
func Report(res Results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	title := "Benchmark results"
	if res.Smoke {
		title = "Benchmark smoke pass (one image, one run: checks the harness, not a measurement)"
	}
	p("## %s\n\n", title)
	m := res.Machine
	p("Run %s on %s, %s cores (%s), %s memory, kernel %s, %s. %d runs per tool and scenario; the tables give medians. Whole benchmark: %.0f s.\n\n",
		res.Date, m["os"], m["nproc"], m["cpu"], m["memory"], m["kernel"], m["go"], res.Runs, res.Seconds)
	var vs []string
	for _, k := range []string{"ecrbase", "crane", "regctl", "skopeo", "docker-registry", "hyperfine"} {
		if v, ok := res.Versions[k]; ok {
			vs = append(vs, fmt.Sprintf("%s `%s`", k, v))
		}
	}
	p("Versions: %s.\n\n", strings.Join(vs, ", "))

	multi, plats := 0, 0
	for _, img := range res.Workload.Images {
		if img.MultiArch {
			multi++
		}
		plats += len(img.PlatformNames())
	}
	p("### Mirroring W1\n\n")
	p("W1 (seed %d): %d images, %d of them multi-arch (3–4 platforms), %d platform manifests, %.0f MiB of distinct layers "+
		"(incompressible, shared base layers counted once). The \"moved\" scenario moves `%s` to a new release: a new top "+
		"layer on each of its platforms.\n\n",
		res.Workload.Seed, len(res.Workload.Images), multi, plats, float64(res.Workload.UniqueBytes)/mib, res.Workload.Moved)
	p("Upstream counts come from the counting proxy in front of the upstream registry (a manifest GET is a counted Docker Hub pull; " +
		"a HEAD is free). Peak RSS is the largest resident set of any one process of the run (for a per-image loop, the " +
		"largest of its processes, measured with GNU time). Tool CPU is user+sys summed over the tool's processes; server CPU is what " +
		"the two registries, the proxy and moto spent meanwhile (they share the same 2 cores). " +
		"\"ok\" counts runs where every process exited 0 and every target tag then had the source's digest. " +
		"Ratios are ecrbase ÷ tool, below 1 means ecrbase spent less; the wall-time ratio is the median over rounds of the " +
		"ratio within each round (the tools take turns within a round), which is steadier than a ratio of medians when the " +
		"machine's background load drifts.\n\n")

	byKey := map[string][]RunRecord{}
	var tools []string
	for _, r := range res.Records {
		k := r.Tool + "/" + r.Scenario
		if _, ok := byKey[k]; !ok && r.Scenario == "cold" {
			tools = append(tools, r.Tool)
		}
		byKey[k] = append(byKey[k], r)
	}
	p("| scenario | tool | wall s, median (min–max) | ecrbase ÷ tool (wall) | manifest GETs | manifest HEADs | upstream MiB | peak RSS MiB | ecrbase ÷ tool (RSS) | tool CPU s | server CPU s | ok |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, sc := range []string{"cold", "warm", "moved"} {
		eb, hasEB := byKey["ecrbase/"+sc]
		ec := summarize(eb)
		for _, t := range tools {
			recs := byKey[t+"/"+sc]
			if len(recs) == 0 {
				continue
			}
			c := summarize(recs)
			rw, rr := "", ""
			if hasEB && t != "ecrbase" {
				rw, rr = pairedRatio(eb, recs), ratio(ec.rss, c.rss)
			}
			p("| %s | %s | %.2f (%.2f–%.2f) | %s | %s | %s | %.1f | %.1f | %s | %.2f | %.2f | %d/%d |\n",
				sc, t, c.wall, c.wallMin, c.wallMax, rw, num(c.gets), num(c.heads), c.mib, c.rss, rr, c.cpu, c.server, c.ok, c.n)
		}
	}
	p("\n")
	var problems []string
	for _, r := range res.Records {
		if r.Failed > 0 || r.Mismatch > 0 || r.Err != "" {
			problems = append(problems, fmt.Sprintf("- %s %s run %d: %d processes failed, %d tags wrong. %s", r.Tool, r.Scenario, r.Run, r.Failed, r.Mismatch, r.Err))
		}
	}
	if len(problems) > 0 {
		p("Failed runs:\n\n%s\n\n", strings.Join(problems, "\n"))
	}
	p("Options chosen:\n\n")
	for _, t := range res.Tools {
		p("- **%s**: %s\n", t.Name, t.Options)
	}
	p("\n")

	if rw := res.Rewrite; rw != nil {
		p("### Rewrite throughput\n\n")
		p("A generated tree of %d Dockerfiles (multi-stage, meta ARGs, continuations, heredocs, COPY --from and RUN --mount from= images, "+
			"some already on ECR, some CRLF or backtick-escaped). `ecrbase rewrite --check` listed %d files to rewrite (exit %d, %d stderr lines). "+
			"Timed with %s, whole process each.\n\n", rw.Files, rw.Changed, rw.Ecrbase.Exit, rw.Warnings, rw.Timer)
		if rw.Err != "" {
			p("Not timed: %s\n\n", rw.Err)
		} else {
			p("| command | mean ms | ± ms | median ms | min ms | CPU ms (user+sys) | peak RSS MiB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
			for _, t := range []Timing{rw.ParseOnly, rw.ParseOnlyParallel, rw.Ecrbase} {
				rss := "—"
				if t.MaxRSSKiB > 0 {
					rss = fmt.Sprintf("%.1f", float64(t.MaxRSSKiB)/1024)
				}
				p("| `%s` | %.1f | %.1f | %.1f | %.1f | %.0f | %s |\n", t.Command, t.Mean*1000, t.Stddev*1000, t.Median*1000, t.Min*1000, t.CPU*1000, rss)
			}
			if res.Smoke {
				// Twenty files and one run measure process start-up and noise,
				// not the rewrite: no ratio is worth comparing with a target.
				p("\nSmoke figures are not measurements (%d files, one run): they show that the harness runs, "+
					"and judge nothing. `bash bench/run` measures the rewrite over 1000 files.\n\n", rw.Files)
			} else {
				p("\nRatio of means, ecrbase ÷ parse-only: **%.2f** against the one-core baseline (the target: at most 1.5); "+
					"%.2f against the baseline parsing on every core, as `rewrite` does; %.2f in CPU time.\n\n",
					rw.Ratio, rw.RatioParallel, rw.Ecrbase.CPU/rw.ParseOnly.CPU)
			}
		}
	}
	return b.String()
}

// spliceReport puts md between the markers in path, keeping the hand-written text
// around them; a file without markers gets them appended.
func spliceReport(path, md string) error { return spliceBetween(path, md, beginMark, endMark) }

func spliceBetween(path, md, beginMark, endMark string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	block := beginMark + "\n\n" + md + "\n" + endMark
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i >= 0 && j > i {
		s = s[:i] + block + s[j+len(endMark):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += "\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
