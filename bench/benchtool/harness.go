package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Tool is one way to mirror the image list into the target.
type Tool struct {
	Name string
	// Options says which options were chosen and why; it goes into the report.
	Options string
	// Commands returns one argv per process, run one after the other: a peer is
	// driven with a plain loop over the images, as a team's script would.
	Commands func(h *Harness, imgs []ImageSpec) ([][]string, error)
	// LAN runs the tool with the WAN shaping off (`NAME@lan`).
	LAN bool
}

// RunRecord is one measured run of a tool on a scenario.
type RunRecord struct {
	Tool          string             `json:"tool"`
	Scenario      string             `json:"scenario"`
	Run           int                `json:"run"`
	WallSeconds   float64            `json:"wall_seconds"`
	CPUSeconds    float64            `json:"cpu_seconds"`        // user+sys of every process of the run
	ServerCPU     float64            `json:"server_cpu_seconds"` // user+sys of registries, proxy and moto during the run
	ServerCPUBy   map[string]float64 `json:"server_cpu_by"`
	Load1         float64            `json:"load1"`       // one-minute load average when the run started
	MaxRSSKiB     int64              `json:"max_rss_kib"` // largest peak RSS of any one process of the run
	Processes     int                `json:"processes"`
	ManifestGets  int64              `json:"manifest_gets"`
	ManifestHeads int64              `json:"manifest_heads"`
	BlobGets      int64              `json:"blob_gets"`
	BlobBytes     int64              `json:"blob_bytes"`
	Failed        int                `json:"failed"`   // processes that exited non-zero
	Mismatch      int                `json:"mismatch"` // target tags whose digest is not the source's after the run
	Err           string             `json:"error,omitempty"`

	// With the WAN stack: requests by kind on each shaped link.
	HubRequests int64 `json:"hub_requests,omitempty"` // registry requests that got past the token check
	Tokens      int64 `json:"tokens,omitempty"`       // token requests
	Challenges  int64 `json:"challenges,omitempty"`   // 401 answers asking for a token
	HubConns    int64 `json:"hub_conns,omitempty"`
	ECRRequests int64 `json:"ecr_requests,omitempty"` // requests to the target registry
	ECRHeads    int64 `json:"ecr_manifest_heads,omitempty"`
	ECRConns    int64 `json:"ecr_conns,omitempty"`
	APICalls    int64 `json:"api_calls,omitempty"` // ECR API calls (ecrbase alone uses the API)
	HubCapBps   int64 `json:"hub_cap_bytes_per_sec,omitempty"`
	HubRTTms    int64 `json:"hub_rtt_ms,omitempty"`
	ECRRTTms    int64 `json:"ecr_rtt_ms,omitempty"`
}

// Harness runs tools against the stack.
type Harness struct {
	Stack   *Stack
	W       Workload
	Images  []ImageSpec
	Runs    int
	Log     io.Writer
	Timeout time.Duration
	TimeBin string // GNU time, for the peak RSS of each process
	Crane   string // primes the target when a tool left it incomplete
	// expected digest per image index in the upstream right now
	expect []string
	// Shape, when set, sets the WAN links for a scenario before its runs.
	Shape func(scenario string)
}

func (h *Harness) env() []string {
	s := h.Stack
	keep := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	return append(keep,
		"HOME="+s.Home,
		"DOCKER_CONFIG="+s.DockerCfg,
		"REGISTRY_AUTH_FILE="+filepath.Join(s.DockerCfg, "config.json"),
		"REGCTL_CONFIG="+filepath.Join(s.Dir, "regctl.json"),
		"SSL_CERT_FILE="+s.CertBundle,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION="+benchRegion,
		"AWS_ENDPOINT_URL_ECR="+s.MotoURL, "AWS_ENDPOINT_URL_STS="+s.MotoURL,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// targetRepo is where ecrbase puts docker.io/<repo>: ECR pull-through-cache naming.
// Every peer writes to the same repository so all four produce the same target.
func targetRepo(s ImageSpec) string { return "docker-hub/" + s.Repo }

type procResult struct {
	wall   time.Duration
	cpu    time.Duration
	maxRSS int64
	code   int
}

func (h *Harness) runProc(ctx context.Context, argv []string, log *os.File) procResult {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	fmt.Fprintf(log, "$ %s\n", strings.Join(argv, " "))
	m := measure(ctx, h.TimeBin, h.env(), argv, log, log)
	if m.err != nil {
		fmt.Fprintf(log, "error: %v\n", m.err)
	}
	fmt.Fprintf(log, "# exit %d, %.2fs, maxrss %d KiB\n", m.code, m.wall.Seconds(), m.maxRSS)
	return procResult{wall: m.wall, cpu: m.cpu, maxRSS: m.maxRSS, code: m.code}
}

// Run measures tool t once on scenario; the stack must already be in the
// scenario's starting state.
func (h *Harness) Run(ctx context.Context, t Tool, scenario string, run int) RunRecord {
	rec := RunRecord{Tool: t.Name, Scenario: scenario, Run: run}
	cmds, err := t.Commands(h, h.Images)
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	logPath := filepath.Join(h.Stack.Dir, "logs", fmt.Sprintf("%s-%s-%d.log", t.Name, scenario, run))
	log, err := os.Create(logPath)
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	defer log.Close()
	if err := h.Stack.ResetProxy(); err != nil {
		rec.Err = err.Error()
		return rec
	}
	wan := h.Stack.WAN
	var logAt int64
	if wan != nil {
		if h.Shape != nil {
			if t.LAN {
				h.Shape("none")
			} else {
				h.Shape(scenario)
			}
		}
		wan.Hub.Reset()
		wan.ECR.Reset()
		wan.API.Reset()
		h.Stack.apiCalls.Store(0)
		logAt = h.Stack.targetLogSize()
	}
	rec.Load1 = loadAvg()
	cpu0 := h.Stack.ServerCPU()
	start := time.Now()
	for _, argv := range cmds {
		r := h.runProc(ctx, argv, log)
		rec.Processes++
		rec.CPUSeconds += r.cpu.Seconds()
		rec.MaxRSSKiB = max(rec.MaxRSSKiB, r.maxRSS)
		if r.code != 0 {
			rec.Failed++
			if rec.Err == "" {
				rec.Err = fmt.Sprintf("%s exited %d; see %s", filepath.Base(argv[0]), r.code, logPath)
			}
		}
	}
	rec.WallSeconds = time.Since(start).Seconds()
	rec.ServerCPUBy = map[string]float64{}
	for name, v := range h.Stack.ServerCPU() {
		rec.ServerCPUBy[name] = v - cpu0[name]
		rec.ServerCPU += v - cpu0[name]
	}
	st, err := h.Stack.Stats()
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	rec.ManifestGets, rec.ManifestHeads, rec.BlobGets, rec.BlobBytes = st.ManifestGets, st.ManifestHeads, st.BlobGets, st.BlobBytes
	if wan != nil {
		rec.HubRequests, rec.Tokens, rec.Challenges = st.Requests, st.Tokens, st.Challenges
		rec.HubConns, rec.ECRConns = wan.Hub.Conns.Load(), wan.ECR.Conns.Load()
		rec.ECRRequests, rec.ECRHeads, _ = h.Stack.targetCounts(logAt)
		rec.APICalls = h.Stack.apiCalls.Load()
		hubRTT, hubCap := wan.Hub.Settings()
		ecrRTT, _ := wan.ECR.Settings()
		rec.HubRTTms, rec.ECRRTTms, rec.HubCapBps = hubRTT.Milliseconds(), ecrRTT.Milliseconds(), hubCap
	}
	for i, img := range h.Images {
		d, err := h.Stack.TargetDigest(targetRepo(img), img.Tag)
		if err != nil || d != h.expect[i] {
			rec.Mismatch++
			fmt.Fprintf(log, "# verify %s: target %q, source %s (%v)\n", img.Ref(), d, h.expect[i], err)
		}
	}
	wanNote := ""
	if wan != nil {
		wanNote = fmt.Sprintf("  token %d  ecr %d  api %d", rec.Tokens, rec.ECRRequests, rec.APICalls)
	}
	fmt.Fprintf(h.Log, "  %-11s %-5s #%d  %6.2fs  GET %3d  HEAD %3d  %6.1f MiB%s  rss %5.1f MiB  cpu %5.2fs  servers %5.2fs  load %.1f%s\n",
		t.Name, scenario, run, rec.WallSeconds, rec.ManifestGets, rec.ManifestHeads,
		float64(rec.BlobBytes)/mib, wanNote, float64(rec.MaxRSSKiB)/1024, rec.CPUSeconds, rec.ServerCPU, rec.Load1, failNote(rec))
	return rec
}

func failNote(r RunRecord) string {
	var s []string
	if r.Failed > 0 {
		s = append(s, fmt.Sprintf("%d failed", r.Failed))
	}
	if r.Mismatch > 0 {
		s = append(s, fmt.Sprintf("%d tags wrong", r.Mismatch))
	}
	if r.Err != "" && r.Failed == 0 {
		s = append(s, r.Err)
	}
	if len(s) == 0 {
		return ""
	}
	return "  !! " + strings.Join(s, ", ")
}

// setMoved pushes variant v of the moved images to the upstream: their tags move.
func (h *Harness) setMoved(ctx context.Context, v int) error {
	cache := map[string]builtLayer{}
	for _, m := range h.W.MovedImages() {
		d, err := h.W.Push(ctx, h.Stack.Upstream, h.W.Variant(m, v), cache)
		if err != nil {
			return err
		}
		h.expect[m] = d
	}
	return nil
}

// resetMoto empties moto's state, so that a cold run creates its repositories.
func (h *Harness) resetMoto() error {
	resp, err := h.Stack.client.Post(h.Stack.motoCtl+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Scenarios runs every scenario for every tool, Runs times each. Tools take turns
// within each round, so a change in background load touches all of them alike.
//
//	cold   target registry empty (restarted on a fresh directory), moto reset,
//	       the tools' HOME emptied (no config or cache left by an earlier run)
//	warm   target already holds every tag at the upstream digest
//	moved  one multi-arch tag moved upstream (a new top layer on every platform);
//	       each run moves it to a new variant, so every run has the same amount
//	       of new content to copy
//
// Every tool leaves the same target behind (all of them preserve digests, which
// Run checks), so the warm and moved scenarios start from the same state whichever
// tool ran last; prime restores that state if a tool left it broken.
func (h *Harness) Scenarios(ctx context.Context, tools []Tool, which map[string]bool) ([]RunRecord, error) {
	var out []RunRecord
	for i := 1; i <= h.Runs && which["cold"]; i++ {
		for _, t := range tools {
			if err := h.Stack.StartTarget(ctx); err != nil {
				return out, err
			}
			if err := h.resetMoto(); err != nil {
				return out, err
			}
			if err := os.RemoveAll(h.Stack.Home); err != nil {
				return out, err
			}
			if err := os.MkdirAll(h.Stack.Home, 0o755); err != nil {
				return out, err
			}
			out = append(out, h.Run(ctx, t, "cold", i))
		}
	}
	for i := 1; i <= h.Runs && which["warm"]; i++ {
		for _, t := range tools {
			if err := h.prime(ctx); err != nil {
				return out, err
			}
			out = append(out, h.Run(ctx, t, "warm", i))
		}
	}
	variant := 0
	for i := 1; i <= h.Runs && which["moved"]; i++ {
		for _, t := range tools {
			if err := h.prime(ctx); err != nil {
				return out, err
			}
			variant++
			if err := h.setMoved(ctx, variant); err != nil {
				return out, err
			}
			out = append(out, h.Run(ctx, t, "moved", i))
		}
	}
	if variant > 0 {
		return out, h.setMoved(ctx, 0)
	}
	return out, nil
}

// prime makes the target current (every tag at the upstream digest) with crane,
// unmeasured, when the previous run left it otherwise; over shaped links it
// first takes the shaping off (Shape("prime")) and copies 8 images at a time.
func (h *Harness) prime(ctx context.Context) error {
	if h.Shape != nil {
		h.Shape("prime")
	}
	sem := make(chan struct{}, 1)
	if h.Stack.WAN != nil {
		sem = make(chan struct{}, 8)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(h.Images))
	for i, img := range h.Images {
		d, err := h.Stack.TargetDigest(targetRepo(img), img.Tag)
		if err == nil && d == h.expect[i] {
			continue
		}
		fmt.Fprintf(h.Log, "  (priming %s with crane)\n", img.Ref())
		argv := []string{h.Crane, "copy", h.Stack.Proxy + "/" + img.Ref(), h.Stack.Target + "/" + targetRepo(img) + ":" + img.Tag}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if m := measure(ctx, "", h.env(), argv, io.Discard, io.Discard); m.code != 0 {
				errs[i] = fmt.Errorf("priming %s with crane: exit %d", img.Ref(), m.code)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
