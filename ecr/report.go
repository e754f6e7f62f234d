package ecr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Status is what the plan found for an image.
type Status string

// Plan statuses.
const (
	UpToDate   Status = "up-to-date" // ECR's tag has the source's digest
	Missing    Status = "missing"    // ECR does not have the tag
	Stale      Status = "stale"      // ECR's tag has another digest: the upstream tag moved
	Unresolved Status = "unresolved" // the source could not be read
	// TargetFailed: ECR (its registry, its API or the login) could not be
	// read or written; the source was fine as far as the run got.
	TargetFailed Status = "target-failed"
)

// Action is what the mirror does (or, in a dry run, would do) for an image.
type Action string

// Actions.
const (
	None   Action = "none"   // already up to date
	Copy   Action = "copy"   // missing in ECR
	Update Action = "update" // stale, copied over
	Keep   Action = "keep"   // stale with NoUpdate, or unresolved while ECR has the tag
	Fail   Action = "fail"   // unresolved and not in ECR, or an error before the target was written
)

// Result is the outcome for one image.
type Result struct {
	Source     string `json:"source"`
	Repository string `json:"repository"`
	// Target is the ECR image, registry/repository:tag or registry/repository@digest.
	Target string `json:"target"`
	Status Status `json:"status"`
	Action Action `json:"action"`

	SourceDigest string `json:"source_digest,omitempty"` // from the source HEAD
	TargetDigest string `json:"target_digest,omitempty"` // in ECR before the run
	// Digest is what the target points at after the run (in a dry run: would
	// point at, when known); use it to pin.
	Digest    string   `json:"digest,omitempty"`
	MediaType string   `json:"media_type,omitempty"`
	Platforms []string `json:"platforms,omitempty"` // platforms copied from an index

	// PullsNeeded is the counted pulls (manifest GETs) the copy needs, its
	// signatures and other referrers included. When PullsEstimate is set
	// the number is an estimate, and PullsEstimateReason says why: how many
	// platforms an index has is known only once the index itself has been
	// pulled, for instance.
	PullsNeeded         int    `json:"pulls_needed"`
	PullsEstimate       bool   `json:"pulls_estimate,omitempty"`
	PullsEstimateReason string `json:"pulls_estimate_reason,omitempty"`
	PullsUsed           int    `json:"pulls_used"`
	Quota               *Quota `json:"quota,omitempty"` // source quota seen while planning

	// ContentSource is the content source found holding the image while
	// planning: the copy reads it from there by digest.
	ContentSource string `json:"content_source,omitempty"`
	// Content tells, after a copy, which registries supplied the bytes and
	// the counted pulls spent on each.
	Content []Origin `json:"content,omitempty"`
	// Referrers are the signatures, attestations and SBOMs copied beside
	// the image (cosign tags and OCI referrers).
	Referrers []Referrer `json:"referrers,omitempty"`
	// Attestations of a platform subset: those kept for the kept platforms,
	// and those dropped because their platform was not copied.
	AttestationsKept    int `json:"attestations_kept,omitempty"`
	AttestationsDropped int `json:"attestations_dropped,omitempty"`

	Manifests    int     `json:"manifests_pushed"`
	BlobsCopied  int     `json:"blobs_copied"`
	BlobsSkipped int     `json:"blobs_skipped"` // already in ECR
	Bytes        int64   `json:"bytes"`         // blob bytes copied
	Seconds      float64 `json:"seconds"`

	Scan     *Scan    `json:"scan,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Scan is the scan gate's view of an image.
type Scan struct {
	Status   string           `json:"status"` // COMPLETE, FAILED, UNSUPPORTED_IMAGE, TIMEOUT, ...
	Findings map[string]int32 `json:"findings,omitempty"`
	Failed   bool             `json:"failed"` // findings at or above FailOn
}

// Report is the outcome of a Mirror call; it marshals to the JSON report.
type Report struct {
	Registry    string   `json:"registry"` // ECR registry host
	Account     string   `json:"account"`
	Region      string   `json:"region"`
	DryRun      bool     `json:"dry_run"`
	Images      []Result `json:"images"`
	Quotas      []Quota  `json:"quotas,omitempty"` // per source host, as last seen
	PullsNeeded int      `json:"pulls_needed"`
	// PullsEstimate marks PullsNeeded as a lower bound: an index whose
	// platforms are unknown until it is pulled counts as two, a platform
	// subset of an OCI index keeps attestation manifests that show only in
	// the index, and some referrers show only once a manifest is read (each
	// image's PullsEstimateReason says which).
	PullsEstimate bool `json:"pulls_estimate,omitempty"`
	PullsUsed     int  `json:"pulls_used"`
	// Pulls is the counted pulls (planned, in a dry run) per registry the
	// images are read from; content sources count none.
	Pulls  map[string]int `json:"pulls_by_registry,omitempty"`
	Failed int            `json:"failed"`
}

// Event is one progress event.
type Event struct {
	Time    time.Time     `json:"time"`
	Image   string        `json:"image"`
	Kind    string        `json:"kind"` // plan, copy, source, blob, manifest, referrer, tag, done, wait, warning, error, scan
	Status  string        `json:"status,omitempty"`
	Digest  string        `json:"digest,omitempty"`
	Bytes   int64         `json:"bytes,omitempty"`
	Elapsed time.Duration `json:"elapsed,omitempty"`
	Message string        `json:"message,omitempty"`
}

// String renders the event as one line: image, kind, status, digest, bytes,
// time, message.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Image)
	b.WriteString(" ")
	b.WriteString(e.Kind)
	if e.Status != "" {
		b.WriteString(" " + e.Status)
	}
	if e.Digest != "" {
		b.WriteString(" " + e.Digest)
	}
	if e.Bytes > 0 {
		b.WriteString(" " + humanBytes(e.Bytes))
	}
	if e.Elapsed > 0 {
		b.WriteString(" " + e.Elapsed.Round(time.Millisecond).String())
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// emitter fans events out to the configured writer, logger and callback,
// with credentials removed.
type emitter struct {
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
	fn  func(Event)
	red *redactor
}

func (em *emitter) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Message = em.red.String(e.Message)
	if em.fn != nil {
		em.fn(e)
	}
	if em.log != nil {
		level := slog.LevelInfo
		switch e.Kind {
		case "warning", "wait":
			level = slog.LevelWarn
		case "error":
			level = slog.LevelError
		}
		attrs := []any{"image", e.Image, "kind", e.Kind}
		for _, kv := range []struct {
			k  string
			v  any
			ok bool
		}{{"status", e.Status, e.Status != ""}, {"digest", e.Digest, e.Digest != ""}, {"bytes", e.Bytes, e.Bytes > 0}, {"elapsed", e.Elapsed, e.Elapsed > 0}} {
			if kv.ok {
				attrs = append(attrs, kv.k, kv.v)
			}
		}
		em.log.Log(context.Background(), level, e.Message, attrs...)
	}
	if em.w != nil {
		em.mu.Lock()
		fmt.Fprintln(em.w, e.String())
		em.mu.Unlock()
	}
}

// EstimateReasons say, each once, why PullsNeeded is a lower bound: what
// made the images' figures estimates.
func (r *Report) EstimateReasons() []string {
	var why []string
	for _, img := range r.Images {
		for _, w := range strings.Split(img.PullsEstimateReason, "; ") {
			// How many platforms an index has shows only when it is
			// pulled.
			if strings.HasPrefix(w, "how many platforms") {
				w = "an index counts as 2 until pulled, 1 + its platforms after"
			}
			if w != "" && !slices.Contains(why, w) {
				why = append(why, w)
			}
		}
	}
	return why
}
