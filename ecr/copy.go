package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Annotations of an index the mirror builds from a platform subset: they let
// a later run see that the subset is up to date without pulling the source.
const (
	annotationSource    = "io.ecrbase.source.digest"
	annotationPlatforms = "io.ecrbase.platforms"
)

// rawManifest pushes manifest bytes exactly as read, so digests survive.
type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// copier copies one image: children by digest first, the tag last.
type copier struct {
	r   *run
	p   *imageJob
	sem chan struct{} // bounds the blobs in flight for the image

	mu sync.Mutex // guards the counters in p.res and p.pushed
}

// errHeadMismatch means the source's HEAD for a tag announced a digest the
// source does not serve.
var errHeadMismatch = errors.New("the source's HEAD and GET disagree")

// copy copies p's image and returns the digest the target now has. Nothing
// is written to ECR, the repository included, and no platform manifest is
// read, until the pulls the image needs are known to be there.
func (r *run) copy(p *imageJob) (string, error) {
	ctx := p.ctx
	defer r.ledger.release(p.ic, p.readHost)
	c := &copier{r: r, p: p, sem: make(chan struct{}, r.o.BlobJobs)}
	desc, err := r.readTop(p) // counted pull, unless a content source has it
	if err != nil {
		return "", err
	}
	ref := p.src.readRef()
	raw, mt := desc.Manifest, desc.MediaType
	var children []v1.Descriptor
	var missing []bool
	if mt.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return "", fmt.Errorf("parsing index %s: %w", ref, err)
		}
		children = idx.Manifests
		if len(r.platforms) > 0 {
			children = r.keepAttestations(p, idx.Manifests, selectPlatforms(idx.Manifests, r.platforms))
			if len(children) == 0 {
				return "", fmt.Errorf("%s: %w %s (it has %s)", ref, ErrNoPlatform,
					platformList(r.platforms), strings.Join(platformsOf(idx.Manifests), ","))
			}
			if raw, err = subsetIndex(idx, children, desc.Digest, r.platforms); err != nil {
				return "", err
			}
			d, _, _ := v1.SHA256(bytes.NewReader(raw))
			r.warn(p, fmt.Sprintf("copying platforms %s only: the index in ECR is %s, not the source's %s",
				platformList(r.platforms), d, desc.Digest))
		}
		p.res.Platforms = platformsOf(children)
		if missing, err = c.missing(ctx, children); err != nil {
			return "", err
		}
		spent := "the index GET needed to count its platforms was spent"
		if p.ic.pulls.Load() == 0 {
			spent = "the index was read from a content source, no counted pull spent"
		}
		if err := c.budget(ctx, children, missing, spent); err != nil {
			return "", err
		}
	}
	if err := r.ensureRepository(ctx, p.img); err != nil {
		return "", err
	}
	if mt.IsIndex() {
		if err := c.children(ctx, children, missing); err != nil {
			return "", err
		}
	} else {
		if err := c.blobs(ctx, ref, raw, mt); err != nil {
			return "", err
		}
		c.p.pushed = append(c.p.pushed, desc.Descriptor)
	}

	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	top := rawManifest{b: raw, mt: mt}
	// Everything the manifest refers to is in ECR now; the tag comes last.
	if p.src.tag == "" || p.src.digest != "" {
		if err := c.put(ctx, p.tgtRepo.Digest(digest.String()), top); err != nil {
			return "", err
		}
	}
	if p.src.tag != "" {
		if err := c.put(ctx, p.tgtRepo.Tag(p.src.tag), top); err != nil {
			return "", err
		}
		r.em.emit(Event{Image: p.img.Source, Kind: "tag", Digest: digest.String(), Message: p.res.Target})
	}
	return digest.String(), nil
}

// readTop reads the image's manifest or index. A tag is read by the digest
// its HEAD announced: from a content source that holds it (verified against
// that digest, no counted pull), else from the source, where
// go-containerregistry checks the bytes against that digest; either way the
// copy is what the plan saw even if the tag moves in between. A source whose
// HEAD announces a digest it does not serve is caught here: when ECR has the
// tag, by a free HEAD, so a run that keeps ECR's copy spends no pull;
// otherwise the tag is read and its bytes are checked against the GET's own
// Docker-Content-Digest (readManifest).
func (r *run) readTop(p *imageJob) (*remote.Descriptor, error) {
	ctx := p.ctx
	if p.src.digest != "" || p.srcDesc == nil {
		var want v1.Hash
		if p.srcDesc != nil {
			want = p.srcDesc.Digest
		}
		desc, err := r.getManifest(ctx, p, p.src.readRef(), want)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p.srcName(), r.sourceError(p, err))
		}
		return desc, nil
	}
	desc, tried := r.fromContent(ctx, p, p.srcDesc.Digest)
	if desc != nil {
		return desc, nil
	}
	if tried {
		if err := r.unplannedPull(p, p.srcDesc.Digest); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p.srcName(), err)
		}
	}
	byDigest := p.src.read.Digest(p.srcDesc.Digest.String())
	var err error
	if p.tgtDesc != nil {
		_, err = r.srcHead(ctx, byDigest)
	}
	if err == nil {
		desc, err = r.fromRegistry(ctx, p, byDigest)
	}
	if err == nil {
		return desc, nil
	}
	if !notFound(err) {
		return nil, fmt.Errorf("reading %s: %w", p.srcName(), r.sourceError(p, err))
	}
	msg := fmt.Sprintf("the source's HEAD for %s announces %s, but the source has no manifest %s",
		p.src.readRef(), p.srcDesc.Digest, p.srcDesc.Digest)
	if p.tgtDesc != nil {
		return nil, fmt.Errorf("%w: %s", errHeadMismatch, msg)
	}
	r.warn(p, msg+"; reading the tag instead")
	desc, err = r.fromRegistry(ctx, p, p.src.readRef())
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.srcName(), r.sourceError(p, err))
	}
	if desc.Digest != p.srcDesc.Digest {
		r.warn(p, fmt.Sprintf("the tag's GET served %s, whose bytes match the GET's Docker-Content-Digest; copying that", desc.Digest))
		p.res.SourceDigest = desc.Digest.String()
	}
	return desc, nil
}

// missing HEADs descriptors in ECR (free) and tells which it lacks.
func (c *copier) missing(ctx context.Context, descs []v1.Descriptor) ([]bool, error) {
	r, p := c.r, c.p
	missing := make([]bool, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.BlobJobs)
	for i, d := range descs {
		g.Go(func() error {
			_, err := r.tgtGet.Head(gctx, p.tgtRepo.Digest(d.Digest.String()))
			switch {
			case notFound(err):
				missing[i] = true
			case err != nil:
				return targetErr("checking "+d.Digest.String(), err)
			}
			return nil
		})
	}
	return missing, g.Wait()
}

// budget refuses, before any of them is read, manifests that need more
// counted pulls than the quota seen has left. Only what will really be read
// from the image's own registry counts: manifests a content source supplies
// cost no counted pull. When the quota would cover every missing manifest
// anyway, the content sources are not asked up front; one that then fails
// to supply a manifest has its pull reserved at that point (getManifest).
// Otherwise each missing manifest is HEADed on them (free) first.
func (c *copier) budget(ctx context.Context, descs []v1.Descriptor, missing []bool, spent string) error {
	r, p := c.r, c.p
	var counted []v1.Hash
	for i, m := range missing {
		if m {
			counted = append(counted, descs[i].Digest)
		}
	}
	nMissing, host := len(counted), p.readHost
	if len(counted) > 0 && len(r.sources(p)) > 0 {
		if q := r.ledger.quota(host); q == nil || len(counted) <= q.Remaining-r.ledger.promised(host) {
			return nil
		}
		counted = r.lacking(ctx, p, counted)
	}
	n := len(counted)
	if q, others, ok := r.ledger.reserve(p.ic, host, n); !ok {
		err := fmt.Errorf("%w on %s: stopped before copying anything (%s); its %d missing manifests need %d more counted pulls, quota seen: %s",
			ErrPullBudget, host, spent, nMissing, n, q)
		if others > 0 {
			err = fmt.Errorf("%w, %d of them promised to other copies under way", err, others)
		}
		return err
	}
	r.contentOf(p).markReserved(counted)
	return nil
}

// children copies the manifests of an index that ECR lacks (missing), so
// only those cost a counted pull.
func (c *copier) children(ctx context.Context, descs []v1.Descriptor, missing []bool) error {
	p := c.p
	for _, d := range descs {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown") {
			c.mu.Lock()
			p.pushed = append(p.pushed, d)
			c.mu.Unlock()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.r.o.BlobJobs)
	for i, d := range descs {
		if missing[i] {
			g.Go(func() error { return c.manifest(gctx, d) })
		}
	}
	return g.Wait()
}

// manifest copies one child manifest and what it refers to, by digest.
func (c *copier) manifest(ctx context.Context, d v1.Descriptor) error {
	r, p := c.r, c.p
	ref := p.src.read.Digest(d.Digest.String())
	desc, err := r.getManifest(ctx, p, ref, d.Digest) // counted pull, unless a content source has it
	if err != nil {
		return fmt.Errorf("reading %s: %w", ref, r.sourceError(p, err))
	}
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", ref, err)
		}
		missing, err := c.missing(ctx, idx.Manifests)
		if err != nil {
			return err
		}
		if err := c.budget(ctx, idx.Manifests, missing, "a nested index was read"); err != nil {
			return err
		}
		if err := c.children(ctx, idx.Manifests, missing); err != nil {
			return err
		}
	} else if err := c.blobs(ctx, ref, desc.Manifest, desc.MediaType); err != nil {
		return err
	}
	return c.put(ctx, p.tgtRepo.Digest(d.Digest.String()), rawManifest{b: desc.Manifest, mt: desc.MediaType})
}

func (c *copier) put(ctx context.Context, ref name.Reference, m rawManifest) error {
	if err := retryRace(ctx, func() error { return c.r.tgtPut.Put(ctx, ref, m) }); err != nil {
		return targetErr("writing manifest "+ref.Identifier(), err)
	}
	c.mu.Lock()
	c.p.res.Manifests++
	c.mu.Unlock()
	if _, isTag := ref.(name.Tag); !isTag {
		c.r.em.emit(Event{Image: c.p.img.Source, Kind: "manifest", Digest: ref.Identifier(), Bytes: int64(len(m.b))})
	}
	return nil
}

// blobs copies the config and layers of an image manifest, in parallel.
func (c *copier) blobs(ctx context.Context, ref name.Reference, raw []byte, mt types.MediaType) error {
	if mt.IsSchema1() {
		return fmt.Errorf("%s: schema 1 manifests (%s) are not supported", ref, mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing manifest %s (%s): %w", ref, mt, err)
	}
	var descs []v1.Descriptor
	if m.Config.Digest.Hex != "" {
		descs = append(descs, m.Config)
	}
	descs = append(descs, m.Layers...)
	g, gctx := errgroup.WithContext(ctx)
	for _, d := range descs {
		g.Go(func() error {
			select {
			case c.sem <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			defer func() { <-c.sem }()
			return c.blob(gctx, d)
		})
	}
	return g.Wait()
}

// blobHome is where one run put a blob in ECR, so that other repositories
// that need it mount it there instead of reading it from the source again.
type blobHome struct {
	done chan struct{} // closed when the first upload ends
	repo name.Repository
	ok   bool
}

// blob streams one blob from the source to ECR; go-containerregistry skips
// it when ECR has it already. A blob another image of this run is putting
// in another repository (a shared base layer) is waited for and then
// mounted from there, which costs the source nothing; a registry that
// cannot mount falls back to the upload.
func (c *copier) blob(ctx context.Context, d v1.Descriptor) error {
	r, p := c.r, c.p
	sb := &srcBlob{ctx: ctx, r: r, ref: p.src.read.Digest(d.Digest.String()), desc: d}
	l, err := partial.CompressedToLayer(sb)
	if err != nil {
		return err
	}
	// The first image to need a blob claims it; claims are taken while
	// holding a slot, and an owner never waits, so waiting cannot deadlock.
	home := &blobHome{done: make(chan struct{}), repo: p.tgtRepo}
	if v, loaded := r.homes.LoadOrStore(d.Digest.String(), home); loaded {
		other := v.(*blobHome)
		select {
		case <-other.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if other.ok && other.repo.RepositoryStr() != p.tgtRepo.RepositoryStr() {
			l = &remote.MountableLayer{Layer: l, Reference: other.repo.Digest(d.Digest.String())}
		}
	} else {
		defer close(home.done)
	}
	start := time.Now()
	err = c.upload(ctx, d, l, sb)
	// go-containerregistry retries network failures but not a blob that
	// fails its checksum (not a temporary error); one corrupt read may be a
	// flaky proxy, so it gets exactly one more try. A content source whose
	// bytes failed is not asked again (upload skips it for the image).
	if err != nil && corrupt(sb.readErr()) {
		r.cwarn(p, fmt.Sprintf("blob %s: %v; reading it once more", d.Digest, sb.readErr()))
		err = c.upload(ctx, d, l, sb)
	}
	home.ok = err == nil
	if err != nil {
		// A failed source read surfaces as a failed upload; name the real
		// cause. Only when the last attempt failed on it: a retry can fail
		// at ECR (a 401 on its HEAD or POST) before it reopens the source,
		// and then the source error kept from an earlier attempt is stale.
		if rerr := sb.readErr(); rerr != nil && errors.Is(err, rerr) {
			return fmt.Errorf("copying blob %s: reading %s: %w", d.Digest, sb.ref, r.sourceError(p, rerr))
		}
		return targetErr("copying blob "+d.Digest.String(), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !sb.opened.Load() {
		p.res.BlobsSkipped++
		return nil
	}
	p.res.BlobsCopied++
	p.res.Bytes += sb.n.Load()
	r.em.emit(Event{Image: p.img.Source, Kind: "blob", Digest: d.Digest.String(), Bytes: d.Size, Elapsed: time.Since(start)})
	return nil
}

// uploadTo puts one blob in ECR and cancels the upload sessions that failed
// attempts left open there.
func (c *copier) uploadTo(ctx context.Context, l v1.Layer) error {
	uctx, ups := withUploads(ctx)
	err := c.r.tgtPut.Upload(uctx, c.p.tgtRepo, l)
	ups.cancel(ctx, c.r.tgtRT)
	return err
}

// corrupt reports whether a source read failed its digest or size check.
// go-containerregistry's verify error is internal, so only its text tells.
func corrupt(err error) bool {
	return err != nil && strings.Contains(err.Error(), "error verifying ")
}

// srcBlob is a source blob read lazily: it is only opened when ECR lacks it.
type srcBlob struct {
	ctx    context.Context
	r      *run
	ref    name.Digest
	desc   v1.Descriptor
	opened atomic.Bool
	n      atomic.Int64
	err    atomic.Pointer[error] // last source read error, EOF aside
}

func (b *srcBlob) readErr() error {
	if e := b.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (b *srcBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *srcBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *srcBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }

// Compressed opens the source blob; the reader verifies the digest at EOF.
// Each open (a retry) starts the byte count and the error afresh, so bytes
// count what the copy that worked read, once.
func (b *srcBlob) Compressed() (io.ReadCloser, error) {
	b.err.Store(nil)
	b.n.Store(0)
	l, err := b.r.srcLayer(b.ctx, b.ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		b.err.Store(&err)
		return nil, err
	}
	b.opened.Store(true)
	return &countReader{ReadCloser: rc, b: b}, nil
}

// countReader counts the bytes read and keeps the source's read errors.
// Errors after Close are the target giving up (ECR failed mid-upload), not
// the source's fault, and are not kept.
type countReader struct {
	io.ReadCloser
	b      *srcBlob
	closed atomic.Bool
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.b.n.Add(int64(n))
	if err != nil && err != io.EOF && !c.closed.Load() {
		c.b.err.Store(&err)
	}
	return n, err
}

func (c *countReader) Close() error {
	c.closed.Store(true)
	return c.ReadCloser.Close()
}

// selectPlatforms keeps the descriptors of the wanted platforms. A wanted
// platform without a variant matches every variant; arm64 and arm64/v8 are
// the same platform.
func selectPlatforms(descs []v1.Descriptor, want []v1.Platform) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range descs {
		if d.Platform == nil {
			continue
		}
		for _, w := range want {
			if d.Platform.OS != w.OS || d.Platform.Architecture != w.Architecture {
				continue
			}
			dv, wv := d.Platform.Variant, w.Variant
			if w.Architecture == "arm64" {
				dv, wv = strings.TrimPrefix(dv, "v8"), strings.TrimPrefix(wv, "v8")
			}
			if wv == "" || dv == wv {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// subsetIndex builds the index of a platform subset, recording where it
// came from. The encoding is deterministic, so concurrent runs agree on the
// digest.
func subsetIndex(idx *v1.IndexManifest, children []v1.Descriptor, src v1.Hash, platforms []v1.Platform) ([]byte, error) {
	n := *idx
	n.Manifests = children
	n.Annotations = map[string]string{}
	for k, v := range idx.Annotations {
		n.Annotations[k] = v
	}
	n.Annotations[annotationSource] = src.String()
	n.Annotations[annotationPlatforms] = platformList(platforms)
	b, err := json.Marshal(&n)
	if err != nil {
		return nil, fmt.Errorf("encoding platform subset index: %w", err)
	}
	return b, nil
}

// platformsOf lists the platforms of descriptors, leaving out attestations
// (unknown/unknown).
func platformsOf(descs []v1.Descriptor) []string {
	var out []string
	for _, d := range descs {
		if d.Platform != nil && d.Platform.OS != "unknown" {
			out = append(out, d.Platform.String())
		}
	}
	return out
}

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
