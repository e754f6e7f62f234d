package ecr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// planReferrers adds to the plan of an image that will be copied the counted
// pulls its signatures, attestations and other referrers will cost, found
// with the same free requests the copy makes: a HEAD of each cosign tag, the
// referrers API or a HEAD of its tag schema. A referrer ECR already has, or
// that a content source holds, costs nothing. What cannot be known without
// a counted read marks the figure as an estimate: the entries of a
// tag-schema index, the signatures of an index's platforms (looked for only
// when the index has something), and the children of a referrer that is an
// index itself.
func (r *run) planReferrers(p *imageJob) {
	var why []string
	estimate := func(reason string) {
		if !slices.Contains(why, reason) {
			why = append(why, reason)
		}
	}
	// What the image itself needs was planned before: say why it is an
	// estimate.
	p.imgEstimate = p.res.PullsEstimate
	if p.imgEstimate {
		if len(r.platforms) > 0 {
			estimate("the attestation manifests of the kept platforms show only in the index")
		} else {
			estimate("how many platforms an index has shows only once it is read")
		}
	}
	defer func() {
		p.res.PullsEstimate = len(why) > 0
		p.res.PullsEstimateReason = strings.Join(why, "; ")
	}()
	if r.o.NoReferrers || p.srcDesc == nil {
		return
	}
	// A platform subset is a new index: its referrers are those of the
	// platforms, known only once they are read.
	if len(r.platforms) > 0 && p.srcDesc.MediaType.IsIndex() {
		estimate("the signatures of the kept platforms show only once they are read")
		return
	}
	ctx, s := p.ctx, p.srcDesc.Digest
	n, found, failed := 0, false, false
	// count adds a referrer with digest d unless ECR has it at target (a
	// tag when tagged, by digest otherwise) or a content source holds it.
	count := func(d v1.Hash, mt string, tag string) {
		found = true
		ref := p.tgtRepo.Digest(d.String())
		if tag != "" {
			if have, err := r.tgtGet.Head(ctx, p.tgtRepo.Tag(tag)); err == nil && have.Digest == d {
				return
			}
		} else if have, err := r.tgtGet.Head(ctx, ref); err == nil && have.Digest == d {
			return
		}
		if r.contentHolds(p, d) {
			return
		}
		n++
		if types.MediaType(mt).IsIndex() {
			estimate("a referrer is an index whose manifests show only once it is read")
		}
	}
	// The cosign tags and the referrers API are asked at once: over a
	// wide-area link each answer is a round trip.
	type headResult struct {
		d   *v1.Descriptor
		err error
	}
	heads := make([]headResult, len(cosignSuffixes))
	var (
		wg  sync.WaitGroup
		im  *v1.IndexManifest
		err error
	)
	for i, suffix := range cosignSuffixes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.srcHead(ctx, p.src.read.Tag("sha256-"+s.Hex+suffix)) // free
			heads[i] = headResult{d, err}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		im, err = r.listReferrers(ctx, p.src.read.Digest(s.String()))
	}()
	wg.Wait()
	for i, suffix := range cosignSuffixes {
		tag := "sha256-" + s.Hex + suffix
		d, err := heads[i].d, heads[i].err
		switch {
		case notFound(err):
		case err != nil:
			failed = true
			estimate("cosign tag " + tag + " could not be checked")
		default:
			count(d.Digest, string(d.MediaType), tag)
		}
	}
	switch {
	case errors.Is(err, errNoReferrersClient):
		failed = true
		estimate("the referrers could not be listed")
	case err == nil:
		for _, d := range im.Manifests {
			count(d.Digest, string(d.MediaType), "")
		}
	case notFound(err) || !isTransportError(err):
		tag := "sha256-" + s.Hex
		d, herr := r.srcHead(ctx, p.src.read.Tag(tag)) // free
		switch {
		case notFound(herr):
		case herr != nil:
			failed = true
			estimate("the referrers could not be listed")
		default:
			found = true
			have, terr := r.tgtGet.Head(ctx, p.tgtRepo.Tag(tag))
			if terr == nil && have.Digest == d.Digest {
				break // ECR keeps the same index: every referrer is there
			}
			// The index is read (a counted pull unless a content source
			// holds it); what it lists shows only then: at least one.
			if !r.contentHolds(p, d.Digest) {
				n++
			}
			n++
			estimate("the referrers' tag-schema index lists them only once it is read (counted as one)")
		}
	default:
		failed = true
		estimate("the referrers could not be listed")
	}
	// The platforms of an index are looked at when the index has something.
	if found && p.srcDesc.MediaType.IsIndex() {
		estimate("the platforms of a signed index may have signatures of their own, found only once it is read")
	}
	p.res.PullsNeeded += n
	p.refPulls = n
	// The source has nothing beside the image: the copy need not ask again.
	p.refNone = !found && !failed
}

// contentHolds reports whether one of p's content sources holds the manifest
// with digest d: then the copy reads it there, without a counted pull.
func (r *run) contentHolds(p *imageJob, d v1.Hash) bool {
	for _, cs := range r.sources(p) {
		repo, err := cs.repo(p)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, r.csTimeout)
		got, err := r.csPull.Head(ctx, repo.Digest(d.String()))
		cancel()
		if err == nil && got.Digest == d {
			return true
		}
	}
	return false
}
