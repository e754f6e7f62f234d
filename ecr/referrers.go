package ecr

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Referrer is one signature, attestation, SBOM or other artifact copied
// beside a mirrored manifest.
type Referrer struct {
	Subject      string `json:"subject"`                 // the mirrored manifest it refers to
	Digest       string `json:"digest"`                  // the artifact's manifest
	Tag          string `json:"tag,omitempty"`           // cosign tag, such as sha256-<hex>.sig
	ArtifactType string `json:"artifact_type,omitempty"` // OCI referrers only
	Action       string `json:"action"`                  // copied, present (ECR had it) or failed
	Error        string `json:"error,omitempty"`
}

// cosignSuffixes are the tags cosign stores beside an image, named after the
// digest they sign: sha256-<hex>.sig and so on.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// annotations BuildKit puts on the attestation manifests of an index.
const (
	annotationRefType   = "vnd.docker.reference.type"
	annotationRefDigest = "vnd.docker.reference.digest"
	attestationManifest = "attestation-manifest"
)

// WithNoReferrers copies images without their signatures, attestations and
// other referrers.
func WithNoReferrers(v bool) Option { return func(o *Options) { o.NoReferrers = v } }

// keepAttestations adds to the platforms kept of a subset the attestation
// manifests that describe them, in the index's order, and drops those that
// describe platforms left out: they would refer to nothing in ECR.
func (r *run) keepAttestations(p *imageJob, all, kept []v1.Descriptor) []v1.Descriptor {
	keep := map[v1.Hash]bool{}
	for _, d := range kept {
		keep[d.Digest] = true
	}
	var out []v1.Descriptor
	dropped := 0
	for _, d := range all {
		switch {
		case keep[d.Digest]:
			out = append(out, d)
		case d.Annotations[annotationRefType] == attestationManifest:
			if h, err := v1.NewHash(d.Annotations[annotationRefDigest]); err == nil && keep[h] {
				out = append(out, d)
				p.res.AttestationsKept++
			} else {
				dropped++
			}
		}
	}
	p.res.AttestationsDropped = dropped
	return out
}

// copyReferrers copies what refers to the manifests just mirrored (the
// platforms of an index only when the index itself has some): cosign
// tags (sha256-<hex>.sig, .att, .sbom) and OCI referrers, found through the
// referrers API or, where a registry lacks it, its tag schema. Each is
// HEADed in ECR first and read (from a content source when one holds it, a
// counted pull otherwise) only when ECR lacks it. A referrer that cannot be
// copied is a warning: the image itself is in ECR.
func (r *run) copyReferrers(p *imageJob) {
	if p.res.AttestationsKept > 0 || p.res.AttestationsDropped > 0 {
		r.warn(p, fmt.Sprintf("platform subset: kept %d attestation manifest(s) of the kept platforms, dropped %d of platforms not copied",
			p.res.AttestationsKept, p.res.AttestationsDropped))
	}
	// The plan looked for them a moment ago and found none: the platforms
	// of an index are not looked at either, so there is nothing to do.
	if r.o.NoReferrers || r.o.DryRun || p.refNone {
		return
	}
	// Pulls reserved for referrers and not made are given back.
	defer r.ledger.release(p.ic, p.readHost)
	ic := r.contentOf(p)
	ic.mu.Lock()
	down := ic.sourceDown
	ic.mu.Unlock()
	if down {
		r.warn(p, "signatures and referrers not looked for: they are listed only by "+p.readHost+", which is unreachable")
		return
	}
	var subjects []v1.Hash
	seen := map[v1.Hash]bool{}
	add := func(h v1.Hash) {
		if h.Hex != "" && !seen[h] {
			seen[h] = true
			subjects = append(subjects, h)
		}
	}
	// A platform subset is a new index that nothing upstream refers to.
	if p.srcDesc != nil && (len(r.platforms) == 0 || !p.srcDesc.MediaType.IsIndex()) {
		add(p.srcDesc.Digest)
	}
	for _, d := range p.pushed {
		add(d.Digest)
	}
	if len(subjects) == 0 {
		return
	}
	refPull, err := r.referrersPuller()
	if err != nil {
		r.warn(p, fmt.Sprintf("referrers not copied: %v", err))
		return
	}
	// The scan gate looks at the image's own manifests, not at artifacts.
	pushed := p.pushed
	defer func() { p.pushed = pushed }()
	c := &copier{r: r, p: p, sem: make(chan struct{}, r.o.BlobJobs)}
	one := func(ctx context.Context, s v1.Hash) {
		for _, suffix := range cosignSuffixes {
			c.cosignTag(ctx, s, "sha256-"+s.Hex+suffix)
		}
		c.ociReferrers(ctx, refPull, s)
	}
	// Signing a tag signs the index it names; its platforms carry
	// signatures of their own only when the index was signed recursively.
	// So the platforms are looked at only when the index has something:
	// five requests per image instead of five per manifest.
	if p.srcDesc != nil && p.srcDesc.MediaType.IsIndex() && subjects[0] == p.srcDesc.Digest {
		one(p.ctx, subjects[0])
		c.mu.Lock()
		found := len(p.res.Referrers) > 0
		c.mu.Unlock()
		if !found {
			return
		}
		subjects = subjects[1:]
	}
	g, ctx := errgroup.WithContext(p.ctx)
	g.SetLimit(r.o.BlobJobs)
	for _, s := range subjects {
		g.Go(func() error { one(ctx, s); return nil })
	}
	_ = g.Wait()
}

// cosignTag copies one cosign tag when the source has it and ECR does not
// have the same digest under it.
func (c *copier) cosignTag(ctx context.Context, subject v1.Hash, tag string) {
	r, p := c.r, c.p
	src, err := r.src.Head(ctx, p.src.read.Tag(tag)) // free
	if notFound(err) {
		return
	}
	ref := Referrer{Subject: subject.String(), Tag: tag}
	if err != nil {
		c.referrerDone(ref, fmt.Errorf("checking %s:%s: %w", p.src.read, tag, err))
		return
	}
	ref.Digest = src.Digest.String()
	c.referrerDone(ref, c.artifact(ctx, src.Digest, p.tgtRepo.Tag(tag), &ref))
}

// ociReferrers copies the OCI referrers of subject.
func (c *copier) ociReferrers(ctx context.Context, refPull *remote.Puller, subject v1.Hash) {
	r, p := c.r, c.p
	var descs []v1.Descriptor
	idx, err := remote.Referrers(p.src.read.Digest(subject.String()), remote.Reuse(refPull), remote.WithContext(ctx))
	var im *v1.IndexManifest
	if err == nil {
		im, err = idx.IndexManifest()
	}
	switch {
	case err == nil:
		descs = im.Manifests
	case notFound(err) || !isTransportError(err):
		// No referrers API: the tag schema names an index of them,
		// sha256-<hex>, which a HEAD finds for free.
		tag := "sha256-" + subject.Hex
		d, herr := r.src.Head(ctx, p.src.read.Tag(tag))
		if notFound(herr) {
			return
		}
		if herr != nil {
			c.referrerDone(Referrer{Subject: subject.String(), Tag: tag}, fmt.Errorf("checking %s:%s: %w", p.src.read, tag, herr))
			return
		}
		// ECR without a referrers API keeps the same index under the same
		// tag: then every referrer is there already.
		if have, err := r.tgtGet.Head(ctx, p.tgtRepo.Tag(tag)); err == nil && have.Digest == d.Digest {
			c.referrerDone(Referrer{Subject: subject.String(), Tag: tag, Digest: d.Digest.String(), Action: "present"}, nil)
			return
		}
		if len(r.sources(p)) == 0 {
			if err := c.referrerBudget(); err != nil {
				c.referrerDone(Referrer{Subject: subject.String(), Tag: tag, Digest: d.Digest.String()}, err)
				return
			}
		}
		m, gerr := r.getManifest(ctx, p, p.src.read.Digest(d.Digest.String()), d.Digest)
		if gerr == nil {
			var fi *v1.IndexManifest
			if fi, gerr = v1.ParseIndexManifest(bytes.NewReader(m.Manifest)); gerr == nil {
				descs = fi.Manifests
			}
		}
		if gerr != nil {
			c.referrerDone(Referrer{Subject: subject.String(), Tag: tag, Digest: d.Digest.String()}, fmt.Errorf("reading %s:%s: %w", p.src.read, tag, gerr))
			return
		}
	default:
		c.referrerDone(Referrer{Subject: subject.String()}, fmt.Errorf("listing referrers of %s: %w", subject, err))
		return
	}
	for _, d := range descs {
		ref := Referrer{Subject: subject.String(), Digest: d.Digest.String(), ArtifactType: d.ArtifactType}
		// Pushing the manifest by digest indexes it under its subject: ECR's
		// referrers API, or the tag schema that go-containerregistry keeps
		// up to date on registries without one.
		c.referrerDone(ref, c.artifact(ctx, d.Digest, p.tgtRepo.Digest(d.Digest.String()), &ref))
	}
}

// referrerBudget reserves the counted pull of a referrer, or refuses it
// when the quota seen, less what copies under way were promised, has none
// left: the image is in ECR, and its signatures can follow on a later run.
func (c *copier) referrerBudget() error {
	if q, _, ok := c.r.ledger.reserve(c.p.ic, c.p.readHost, 1); !ok {
		return fmt.Errorf("%w on %s: quota seen: %s", ErrPullBudget, c.p.readHost, q)
	}
	return nil
}

// artifact copies the manifest with digest d and what it refers to, to
// target, unless ECR has it already.
func (c *copier) artifact(ctx context.Context, d v1.Hash, target name.Reference, ref *Referrer) error {
	r, p := c.r, c.p
	have, err := r.tgtGet.Head(ctx, target)
	switch {
	case err == nil && have.Digest == d:
		ref.Action = "present"
		return nil
	case err != nil && !notFound(err):
		return targetErr("checking "+target.Identifier(), err)
	}
	if len(r.sources(p)) == 0 {
		if err := c.referrerBudget(); err != nil {
			return err
		}
	}
	srcRef := p.src.read.Digest(d.String())
	m, err := r.getManifest(ctx, p, srcRef, d)
	if err != nil {
		return fmt.Errorf("reading %s: %w", srcRef, r.sourceError(p, err))
	}
	if m.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(m.Manifest))
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", srcRef, err)
		}
		missing, err := c.missing(ctx, idx.Manifests)
		if err != nil {
			return err
		}
		if err := c.budget(ctx, idx.Manifests, missing, "the referrer's index was read"); err != nil {
			return err
		}
		if err := c.children(ctx, idx.Manifests, missing); err != nil {
			return err
		}
	} else if err := c.blobs(ctx, srcRef, m.Manifest, m.MediaType); err != nil {
		return err
	}
	if err := c.put(ctx, target, rawManifest{b: m.Manifest, mt: m.MediaType}); err != nil {
		return err
	}
	ref.Action = "copied"
	return nil
}

// referrerDone records a referrer in the result; a failure is a warning.
func (c *copier) referrerDone(ref Referrer, err error) {
	if err != nil {
		ref.Action, ref.Error = "failed", c.r.red.String(err.Error())
		what := ref.Tag
		if what == "" {
			what = "referrer " + ref.Digest
		}
		c.r.cwarn(c.p, fmt.Sprintf("%s of %s not copied: %v", strings.TrimSpace(what), ref.Subject, err))
	}
	c.mu.Lock()
	c.p.res.Referrers = append(c.p.res.Referrers, ref)
	c.mu.Unlock()
	if err == nil && ref.Action == "copied" {
		c.r.em.emit(Event{Image: c.p.img.Source, Kind: "referrer", Digest: ref.Digest, Message: "of " + ref.Subject})
	}
}

// referrersPuller reads the source's referrers API. The tag schema is read
// with a HEAD by its callers: the library's fallback GET would be a counted
// pull even when there is nothing to copy.
func (r *run) referrersPuller() (*remote.Puller, error) {
	// One for the run: a puller logs in to each repository once.
	r.refPullOnce.Do(func() { r.refPull, r.refPullErr = r.newReferrersPuller() })
	return r.refPull, r.refPullErr
}

func (r *run) newReferrersPuller() (*remote.Puller, error) {
	return remote.NewPuller(
		remote.WithTransport(r.srcRT),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithRetryBackoff(r.o.backoff),
		remote.WithRetryPredicate(retryable(false)),
		remote.WithUserAgent("ecrbase"),
		remote.WithReferrersTagFallback(false),
	)
}
