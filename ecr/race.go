package ecr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Several builds mirroring the same image at the same moment write the same
// manifests and blobs into one registry. A registry that checks a manifest's
// references while another writer is still putting one of them can answer
// that a reference is unknown or does not match its digest; a moment later
// the same request succeeds. These codes are retried on manifest writes only,
// a few times, since content-addressed writes of identical bytes are
// idempotent.
var concurrentWriteCodes = map[transport.ErrorCode]bool{
	transport.ManifestBlobUnknownErrorCode: true,
	transport.DigestInvalidErrorCode:       true,
	transport.BlobUnknownErrorCode:         true,
	transport.ManifestUnknownErrorCode:     true,
}

// concurrentWrite reports whether err is a registry's answer to a write that
// raced with an identical write from another process.
func concurrentWrite(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return false
	}
	for _, d := range te.Errors {
		if !concurrentWriteCodes[d.Code] {
			return false
		}
	}
	return true
}

// raceAttempts bounds the retries of a write that raced another writer.
const raceAttempts = 5

// retryRace runs write until it succeeds, fails for another reason, or
// raced raceAttempts times, waiting a little longer (with jitter) each time.
func retryRace(ctx context.Context, write func() error) error {
	wait := 100 * time.Millisecond
	for i := 1; ; i++ {
		err := write()
		if err == nil || i == raceAttempts || !concurrentWrite(err) {
			return err
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		wait *= 2
	}
}

// landedMeanwhile HEADs the ECR tag again just before a copy: when several
// builds plan the same copy at once, the ones that reach it after another
// build finished find the tag at the source digest and spend no counted
// pull. ECR HEADs are free; an error keeps the plan.
func (r *run) landedMeanwhile(p *imageJob) bool {
	if p.srcDesc == nil || p.src.tag == "" || (len(r.platforms) > 0 && p.srcDesc.MediaType.IsIndex()) {
		return false
	}
	d, err := r.tgtGet.Head(p.ctx, p.tgtRef)
	if err != nil || d.Digest != p.srcDesc.Digest {
		return false
	}
	res := p.res
	res.Status, res.Action, res.Digest, res.TargetDigest = UpToDate, None, d.Digest.String(), d.Digest.String()
	res.PullsNeeded, res.PullsEstimate, res.PullsEstimateReason, p.refPulls = 0, false, "", 0
	r.em.emit(Event{Image: p.img.Source, Kind: "plan", Status: string(res.Status), Digest: res.Digest,
		Message: "copied meanwhile by another run; nothing to do"})
	return true
}

// copiedByOther waits, for a bounded time, for another build to finish the
// copy this one is about to make. It applies only to a repository that did
// not exist when this run planned (the ECR API said so), that this run has
// not created, and that exists now (the ECR API says so again, or
// CreateRepository answered that it exists): then another build started
// mirroring into it a moment ago, most likely the same image. It is asked
// before anything is read or created for the copy, so waiting costs only
// free ECR requests; copying again would cost counted pulls. When the tag
// does not show up at the source digest in time, the copy goes ahead.
func (r *run) copiedByOther(p *imageJob) bool {
	if !r.batch.absent(p) || r.o.raceWait <= 0 {
		return false
	}
	repo := p.img.Repository
	if _, ours := r.repos.Load(repo); ours {
		if _, other := r.createdElsewhere.Load(repo); !other {
			return false
		}
	} else if !r.batch.existsNow(p.ctx, p) {
		return false
	}
	r.em.emit(Event{Image: p.img.Source, Kind: "wait", Message: fmt.Sprintf("another run created %s a moment ago; waiting up to %s for it to copy the image", p.img.Repository, r.o.raceWait)})
	deadline := time.Now().Add(r.o.raceWait)
	for time.Now().Before(deadline) {
		select {
		case <-p.ctx.Done():
			return false
		case <-time.After(r.o.racePoll):
		}
		if r.landedMeanwhile(p) {
			return true
		}
	}
	return false
}
