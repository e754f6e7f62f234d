package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultContentSources are the content sources used for a registry when
// none is configured: Docker's own copy of the official images on Amazon
// ECR Public, then Google's Docker Hub mirror. They apply only to images
// read from Docker Hub itself: with a registry mirror for docker.io, the
// mirror is where the user chose to read Docker Hub from.
var DefaultContentSources = map[string][]string{
	"docker.io": {"https://public.ecr.aws/docker", "https://mirror.gcr.io"},
}

// defaultContentTimeout bounds each request to a content source before the
// first byte, and each pause in a blob body.
const defaultContentTimeout = 10 * time.Second

// ecrPublicPace spaces requests to Amazon ECR Public, which allows one
// unauthenticated pull per second, and ten with credentials.
const (
	ecrPublicPace       = time.Second
	ecrPublicAuthedPace = 100 * time.Millisecond
)

// WithContentSource adds a content source for registry (for example
// docker.io): a registry at baseURL (with an optional repository path
// prefix, as in https://public.ecr.aws/docker) that holds the same images
// by digest. The tag is still resolved on the registry itself (a HEAD,
// which Docker Hub does not count); manifests and blobs are then read by
// digest from the content sources in the order they were added, verified,
// and read from the registry only when none holds them. Any content source
// setting replaces DefaultContentSources.
func WithContentSource(registry, baseURL string) Option {
	return func(o *Options) {
		if o.ContentSources == nil {
			o.ContentSources = map[string][]string{}
		}
		o.ContentSources[registry] = append(o.ContentSources[registry], baseURL)
	}
}

// WithContentSources replaces every content source with sources; an empty,
// non-nil map turns them off, defaults included.
func WithContentSources(sources map[string][]string) Option {
	return func(o *Options) {
		o.ContentSources = map[string][]string{}
		for k, v := range sources {
			o.ContentSources[k] = append([]string(nil), v...)
		}
	}
}

// WithNoContentSources reads everything from the registries themselves.
func WithNoContentSources(v bool) Option { return func(o *Options) { o.NoContentSources = v } }

// WithContentTimeout bounds how long a content source may take to answer
// (and to send more of a blob) before it is skipped for the rest of the run;
// default 10 s. The CLI sets it from --timeout when that is given.
func WithContentTimeout(d time.Duration) Option { return func(o *Options) { o.ContentTimeout = d } }

// Origin is how much of an image one registry supplied.
type Origin struct {
	// Registry is the content source (host and path prefix) or the image's
	// own registry.
	Registry  string `json:"registry"`
	Manifests int    `json:"manifests"` // manifest GETs answered
	Blobs     int    `json:"blobs"`     // blobs read
	Bytes     int64  `json:"bytes"`     // blob bytes read
	// Pulls is the counted pulls spent there: manifest GETs on the image's
	// own registry. Content sources count none.
	Pulls int `json:"counted_pulls"`
}

// contentSource is one parsed content source.
type contentSource struct {
	name        string // host and prefix, as reports name it
	m           mirror
	libraryOnly bool // ECR Public's docker/ namespace holds only official images
	pace        *pacer

	downOnce sync.Once
	down     atomic.Bool
}

// imageContent is what the content sources did for one image.
type imageContent struct {
	warnMu  sync.Mutex // r.warn appends to the result from concurrent copies
	mu      sync.Mutex
	skip    map[*contentSource]bool // refused, lacking or down for this image
	origins []*Origin
	// planned: manifests whose counted pull the budget reserved, so a fall
	// back to the registry for them needs no reservation of its own.
	planned map[v1.Hash]bool
	// sourceDown: the image's own registry could not be reached while
	// planning, and a content source stands in for it.
	sourceDown bool
}

// parseContentSource reads one content source URL, with the rules of a
// registry mirror's.
func parseContentSource(registry, base string, insecure []string) (mirror, error) {
	m, err := mirrorFrom(registry, base, insecure)
	if err == nil && m.user != nil {
		// Content sources are read anonymously: a password here would
		// neither be used nor be known to the redactor.
		err = errors.New("a user name in the URL: content sources are read anonymously")
	}
	if err != nil {
		return mirror{}, fmt.Errorf("content source %s=%s: %w", registry, redactURL(base), err)
	}
	return m, nil
}

// checkContentSources validates the content source settings up front.
func checkContentSources(o *Options) error {
	for reg, urls := range o.ContentSources {
		if reg == "" {
			return fmt.Errorf("content source for an empty registry name")
		}
		for _, u := range urls {
			if _, err := parseContentSource(reg, u, o.Insecure); err != nil {
				return err
			}
		}
	}
	return nil
}

// contentSetup parses the content sources, applies the defaults and builds
// the client that reads them: no retries and bounded timeouts, so a slow or
// dead content source costs at most one timeout before the registry itself
// is read.
func (r *run) contentSetup() error {
	o := r.o
	r.content = map[string][]*contentSource{}
	if o.NoContentSources {
		return nil
	}
	sources, defaults := o.ContentSources, false
	if sources == nil {
		sources, defaults = DefaultContentSources, true
	}
	explicit := map[string]string{}
	for reg, urls := range sources {
		creg := canonicalRegistry(reg)
		if _, mirrored := r.mirrors[creg]; mirrored && defaults {
			continue
		}
		for _, u := range urls {
			m, err := parseContentSource(reg, u, o.Insecure)
			if err != nil {
				return err
			}
			cs := &contentSource{name: m.host, m: m}
			if m.prefix != "" {
				cs.name += "/" + m.prefix
			}
			if m.host == "public.ecr.aws" {
				cs.pace = &pacer{every: ecrPublicPace}
				cs.libraryOnly = m.prefix == "docker" && creg == name.DefaultRegistry
			}
			r.content[creg] = append(r.content[creg], cs)
			explicit[m.host] = m.scheme
		}
	}
	if len(r.content) == 0 {
		return nil
	}
	timeout := o.ContentTimeout
	if timeout <= 0 {
		timeout = defaultContentTimeout
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = timeout
	base.ResponseHeaderTimeout = timeout
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.NewMultiKeychain(envKeychain{getenv: o.getenv}, authn.DefaultKeychain)
	}
	paced := map[string]*pacer{}
	for _, list := range r.content {
		for _, cs := range list {
			if cs.pace != nil {
				if reg, err := name.NewRegistry(cs.m.host); err == nil {
					if a, err := keychain.Resolve(reg); err == nil && a != authn.Anonymous {
						cs.pace.every = ecrPublicAuthedPace
					}
				}
				if p, ok := paced[cs.m.host]; ok {
					cs.pace = p // one pace per host, shared by its prefixes
				} else {
					paced[cs.m.host] = cs.pace
				}
			}
		}
	}
	var err error
	r.csPull, err = remote.NewPuller(
		remote.WithTransport(pacedTransport{inner: httpsUpgrader{inner: base, schemes: schemes{explicit: explicit}}, pacers: paced}),
		remote.WithAuthFromKeychain(keychain),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithUserAgent("ecrbase"),
		remote.WithJobs(o.Jobs*o.BlobJobs),
	)
	if err != nil {
		return fmt.Errorf("configuring content source client: %w", err)
	}
	r.csTimeout = timeout
	return nil
}

// contentOf returns the content state of p's image.
func (r *run) contentOf(p *imageJob) *imageContent {
	v, _ := r.imgContent.LoadOrStore(p, &imageContent{skip: map[*contentSource]bool{}})
	return v.(*imageContent)
}

func (ic *imageContent) origin(registry string) *Origin {
	for _, o := range ic.origins {
		if o.Registry == registry {
			return o
		}
	}
	o := &Origin{Registry: registry}
	ic.origins = append(ic.origins, o)
	return o
}

// sources returns the content sources still worth asking for p's image.
func (r *run) sources(p *imageJob) []*contentSource {
	list := r.content[p.src.canonical.RegistryStr()]
	if len(list) == 0 {
		return nil
	}
	ic := r.contentOf(p)
	ic.mu.Lock()
	defer ic.mu.Unlock()
	var out []*contentSource
	for _, cs := range list {
		if cs.down.Load() || ic.skip[cs] {
			continue
		}
		if cs.libraryOnly && !strings.HasPrefix(p.src.canonical.RepositoryStr(), "library/") {
			continue
		}
		out = append(out, cs)
	}
	return out
}

// repo is where cs keeps p's repository.
func (cs *contentSource) repo(p *imageJob) (name.Repository, error) {
	path := p.src.canonical.RepositoryStr()
	if cs.m.prefix != "" {
		path = cs.m.prefix + "/" + path
	}
	return name.NewRepository(cs.m.host+"/"+path, cs.m.opts...)
}

// giveUp stops asking cs for p's image, or for the whole run when it
// cannot be reached, with a warning that says why. When cs merely lacks
// what was asked, it is still asked for the rest of the image unless that
// was the image itself (whole).
func (r *run) giveUp(p *imageJob, cs *contentSource, what string, err error, whole bool) {
	var te *transport.Error
	absent := notFound(err) || errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
	if absent && !whole {
		return
	}
	ic := r.contentOf(p)
	ic.mu.Lock()
	already := ic.skip[cs] // blobs read at the same time fail together
	ic.skip[cs] = true
	ic.mu.Unlock()
	switch {
	case absent:
		// It does not hold the image, or not for us: the next source is
		// asked, silently.
	case unreachable(err) || errors.Is(err, context.DeadlineExceeded):
		cs.downOnce.Do(func() {
			cs.down.Store(true)
			r.cwarn(p, fmt.Sprintf("content source %s unreachable (%v); not used for the rest of the run", cs.name, err))
		})
	case !already:
		r.cwarn(p, fmt.Sprintf("content source %s refused for this image: %s: %v", cs.name, what, err))
	}
}

// cwarn is warn for the concurrent parts of a copy.
func (r *run) cwarn(p *imageJob, msg string) {
	ic := r.contentOf(p)
	ic.warnMu.Lock()
	defer ic.warnMu.Unlock()
	r.warn(p, msg)
}

// planContent finds, with a HEAD by digest, the content source that holds
// p's image; the copy then spends no counted pull on the registry.
func (r *run) planContent(p *imageJob) {
	if p.srcDesc == nil {
		return
	}
	// A platform subset of an OCI index keeps the attestation manifests
	// of its platforms, and how many there are shows only in the index.
	if len(r.platforms) > 0 && p.srcDesc.MediaType == types.OCIImageIndex {
		p.res.PullsEstimate = true
	}
	if len(r.content) == 0 {
		return
	}
	for _, cs := range r.sources(p) {
		repo, err := cs.repo(p)
		if err != nil {
			r.giveUp(p, cs, "repository name", err, true)
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, r.csTimeout)
		d, err := r.csPull.Head(ctx, repo.Digest(p.srcDesc.Digest.String()))
		cancel()
		if err != nil {
			r.giveUp(p, cs, "HEAD "+p.srcDesc.Digest.String(), err, true)
			continue
		}
		if d.Digest != p.srcDesc.Digest {
			r.giveUp(p, cs, "HEAD "+p.srcDesc.Digest.String(), fmt.Errorf("answered digest %s", d.Digest), true)
			continue
		}
		p.res.ContentSource = cs.name
		p.res.PullsNeeded, p.res.PullsEstimate = 0, false
		return
	}
}

// pinnedFromContent stands in for the image's own registry when it cannot
// be reached and the reference is pinned by digest: the digest says what
// the image is, so a content source that holds it is as good. A tag, by
// contrast, is only ever resolved on the registry itself.
func (r *run) pinnedFromContent(p *imageJob, desc *v1.Descriptor, err error) (*v1.Descriptor, error) {
	if err == nil || p.src.digest == "" || !unreachable(err) {
		return desc, err
	}
	want, herr := v1.NewHash(p.src.digest)
	if herr != nil {
		return desc, err
	}
	for _, cs := range r.sources(p) {
		repo, rerr := cs.repo(p)
		if rerr != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, r.csTimeout)
		d, cerr := r.csPull.Head(ctx, repo.Digest(want.String()))
		cancel()
		if cerr != nil {
			r.giveUp(p, cs, "HEAD "+want.String(), cerr, true)
			continue
		}
		if d.Digest != want {
			continue
		}
		r.warn(p, fmt.Sprintf("%s unreachable (%v); the pinned digest %s is read from content source %s", p.readHost, err, want, cs.name))
		ic := r.contentOf(p)
		ic.mu.Lock()
		ic.sourceDown = true
		ic.mu.Unlock()
		return d, nil
	}
	return desc, err
}

// getManifest reads the manifest with digest d of p's image: from the
// content sources in order of preference, else from ref on the image's own
// registry (a counted pull on Docker Hub). Bytes whose digest is not d are
// refused, and that content source is not asked again for the image.
func (r *run) getManifest(ctx context.Context, p *imageJob, ref name.Reference, d v1.Hash) (*remote.Descriptor, error) {
	desc, tried := r.fromContent(ctx, p, d)
	if desc != nil {
		return desc, nil
	}
	if tried {
		if err := r.unplannedPull(p, d); err != nil {
			return nil, err
		}
	}
	return r.fromRegistry(ctx, p, ref)
}

// fromContent reads the manifest with digest d from the first content source
// that holds it, verified; tried says whether any content source was asked.
func (r *run) fromContent(ctx context.Context, p *imageJob, d v1.Hash) (desc *remote.Descriptor, tried bool) {
	if d.Hex == "" {
		return nil, false
	}
	for _, cs := range r.sources(p) {
		tried = true
		desc, err := r.contentManifest(ctx, p, cs, d)
		if err != nil {
			r.giveUp(p, cs, "manifest "+d.String(), err, p.srcDesc != nil && d == p.srcDesc.Digest)
			continue
		}
		ic := r.contentOf(p)
		ic.mu.Lock()
		ic.origin(cs.name).Manifests++
		ic.mu.Unlock()
		if p.srcDesc != nil && d == p.srcDesc.Digest {
			r.em.emit(Event{Image: p.img.Source, Kind: "source", Digest: d.String(),
				Message: "reading by digest from content source " + cs.name + ", verified: no counted pull"})
		}
		return desc, true
	}
	return nil, tried
}

// fromRegistry reads ref from the image's own registry: a counted pull on
// Docker Hub.
func (r *run) fromRegistry(ctx context.Context, p *imageJob, ref name.Reference) (*remote.Descriptor, error) {
	desc, err := r.srcGet(ctx, ref) // counted pull
	if err == nil {
		ic := r.contentOf(p)
		ic.mu.Lock()
		ic.origin(p.readHost).Manifests++
		ic.mu.Unlock()
	}
	return desc, err
}

// unplannedPull reserves the counted pull of manifest d, which the budget
// expected a content source to supply and none did: refused, before the
// pull, when the quota seen has none left for it.
func (r *run) unplannedPull(p *imageJob, d v1.Hash) error {
	ic := r.contentOf(p)
	ic.mu.Lock()
	planned := ic.planned[d]
	ic.mu.Unlock()
	if planned {
		return nil
	}
	if q, others, ok := r.ledger.reserve(p.ic, p.readHost, 1); !ok {
		err := fmt.Errorf("%w on %s: no content source supplied manifest %s, and its counted pull is not in the quota seen: %s",
			ErrPullBudget, p.readHost, d, q)
		if others > 0 {
			err = fmt.Errorf("%w, %d pulls promised to other copies under way", err, others)
		}
		return err
	}
	return nil
}

// lacking returns the digests that none of the content sources still in play
// for p's image holds (a HEAD each, bounded by the content timeout); reading
// them will cost a counted pull.
func (r *run) lacking(ctx context.Context, p *imageJob, ds []v1.Hash) []v1.Hash {
	var out []v1.Hash
	for _, d := range ds {
		held := false
		for _, cs := range r.sources(p) {
			repo, err := cs.repo(p)
			if err != nil {
				continue
			}
			hctx, cancel := context.WithTimeout(ctx, r.csTimeout)
			got, err := r.csPull.Head(hctx, repo.Digest(d.String()))
			cancel()
			if err != nil {
				r.giveUp(p, cs, "HEAD "+d.String(), err, false)
				continue
			}
			if got.Digest == d {
				held = true
				break
			}
		}
		if !held {
			out = append(out, d)
		}
	}
	return out
}

// markReserved marks manifests whose counted pull the budget has reserved.
func (ic *imageContent) markReserved(ds []v1.Hash) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.planned == nil {
		ic.planned = map[v1.Hash]bool{}
	}
	for _, d := range ds {
		ic.planned[d] = true
	}
}

func (r *run) contentManifest(ctx context.Context, p *imageJob, cs *contentSource, d v1.Hash) (*remote.Descriptor, error) {
	repo, err := cs.repo(p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.csTimeout)
	defer cancel()
	desc, err := r.csPull.Get(ctx, repo.Digest(d.String()))
	if err != nil {
		return nil, err
	}
	got, _, err := v1.SHA256(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, err
	}
	if got != d {
		return nil, fmt.Errorf("bytes have digest %s", got)
	}
	// The media type in the manifest is covered by the digest; the header
	// is not.
	var mf struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(desc.Manifest, &mf) == nil && mf.MediaType != "" {
		desc.MediaType = mf.MediaType
	}
	desc.Digest = d
	return desc, nil
}

// upload puts blob d into ECR, reading it from the content sources in order
// of preference and from the image's own registry (sb, through l) only when
// none can supply it. A content source whose bytes fail verification or
// stop is skipped for the image and the upload starts again from the next.
func (c *copier) upload(ctx context.Context, d v1.Descriptor, l v1.Layer, sb *srcBlob) error {
	r, p := c.r, c.p
	for _, cs := range r.sources(p) {
		repo, err := cs.repo(p)
		if err != nil {
			r.giveUp(p, cs, "repository name", err, true)
			continue
		}
		cb := &contentBlob{ctx: ctx, pull: r.csPull, ref: repo.Digest(d.Digest.String()), desc: d, timeout: r.csTimeout, cs: cs}
		var cl v1.Layer
		if cl, err = partial.CompressedToLayer(cb); err != nil {
			return err
		}
		if ml, ok := l.(*remote.MountableLayer); ok {
			cl = &remote.MountableLayer{Layer: cl, Reference: ml.Reference}
		}
		err = c.uploadTo(ctx, cl)
		if rerr := cb.readErr(); rerr != nil {
			r.giveUp(p, cs, "blob "+d.Digest.String(), rerr, false)
			continue
		}
		if err != nil {
			return err
		}
		if cb.opened.Load() {
			sb.opened.Store(true)
			sb.n.Add(cb.n.Load())
			ic := r.contentOf(p)
			ic.mu.Lock()
			o := ic.origin(cs.name)
			o.Blobs++
			o.Bytes += cb.n.Load()
			ic.mu.Unlock()
		}
		return nil
	}
	err := c.uploadTo(ctx, l)
	if err == nil && sb.opened.Load() {
		ic := r.contentOf(p)
		ic.mu.Lock()
		o := ic.origin(p.readHost)
		o.Blobs++
		o.Bytes += sb.n.Load()
		ic.mu.Unlock()
	}
	return err
}

// contentBlob is a blob read from a content source, lazily like srcBlob. A
// body that pauses longer than the timeout is cut.
type contentBlob struct {
	ctx     context.Context
	pull    *remote.Puller
	ref     name.Digest
	desc    v1.Descriptor
	timeout time.Duration
	cs      *contentSource
	opened  atomic.Bool
	n       atomic.Int64
	err     atomic.Pointer[error]
}

func (b *contentBlob) readErr() error {
	if e := b.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (b *contentBlob) fail(err error) error {
	b.err.Store(&err)
	return err
}

func (b *contentBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *contentBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *contentBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }

// Compressed opens the blob; go-containerregistry verifies size and digest
// as it is read, and a mismatch fails the read at its end, before ECR
// commits the upload.
func (b *contentBlob) Compressed() (io.ReadCloser, error) {
	// ECR's client retries a failed upload by reading again: a content
	// source that failed once is not asked twice.
	if err := b.readErr(); err != nil {
		return nil, err
	}
	if b.cs.down.Load() {
		return nil, b.fail(fmt.Errorf("content source %s is down", b.cs.name))
	}
	ctx, cancel := context.WithCancel(b.ctx)
	idle := time.AfterFunc(b.timeout, cancel)
	l, err := b.pull.Layer(ctx, b.ref)
	if err != nil {
		idle.Stop()
		cancel()
		return nil, b.fail(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		idle.Stop()
		cancel()
		if errors.Is(err, context.Canceled) && b.ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", b.timeout, context.DeadlineExceeded)
		}
		return nil, b.fail(err)
	}
	idle.Stop()
	b.opened.Store(true)
	return &idleReader{rc: rc, b: b, idle: idle, cancel: cancel}, nil
}

// idleReader counts what is read and bounds each read. Only the time spent
// waiting on the content source counts: ECR taking its time between reads
// is not the content source's fault.
type idleReader struct {
	rc     io.ReadCloser
	b      *contentBlob
	idle   *time.Timer
	cancel context.CancelFunc
}

func (r *idleReader) Read(p []byte) (int, error) {
	r.idle.Reset(r.b.timeout)
	n, err := r.rc.Read(p)
	r.idle.Stop()
	r.b.n.Add(int64(n))
	if err == nil {
		return n, nil
	}
	if err != io.EOF {
		if errors.Is(err, context.Canceled) && r.b.ctx.Err() == nil {
			err = fmt.Errorf("blob body paused longer than %s: %w", r.b.timeout, context.DeadlineExceeded)
		}
		r.b.fail(err)
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.idle.Stop()
	err := r.rc.Close()
	r.cancel()
	return err
}

// pacer spaces requests to one host.
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// pacedTransport paces the manifest and blob requests (the pulls) to the
// hosts that have a pacer; pings and tokens go straight through.
type pacedTransport struct {
	inner  http.RoundTripper
	pacers map[string]*pacer
}

func (t pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if p := t.pacers[req.URL.Host]; p != nil && (strings.Contains(req.URL.Path, "/manifests/") || strings.Contains(req.URL.Path, "/blobs/")) {
		if err := p.wait(req.Context()); err != nil {
			return nil, err
		}
	}
	return t.inner.RoundTrip(req)
}

// contentReport fills in where p's bytes came from and adds its counted
// pulls to the report's count per registry.
func (r *run) contentReport(p *imageJob, rep *Report) {
	if v, ok := r.imgContent.Load(p); ok {
		ic := v.(*imageContent)
		ic.mu.Lock()
		for _, o := range ic.origins {
			c := *o
			if c.Registry == p.readHost {
				c.Pulls = p.res.PullsUsed
			}
			if c.Manifests > 0 || c.Blobs > 0 || c.Pulls > 0 {
				p.res.Content = append(p.res.Content, c)
			}
		}
		ic.mu.Unlock()
	}
	if p.readHost == "" {
		return
	}
	if rep.Pulls == nil {
		rep.Pulls = map[string]int{}
	}
	if r.o.DryRun {
		if p.res.Action == Copy || p.res.Action == Update {
			rep.Pulls[p.readHost] += p.res.PullsNeeded
		}
		return
	}
	rep.Pulls[p.readHost] += p.res.PullsUsed
}

// From names where the image's bytes came from (after a copy) or are
// expected to come from (in a plan): content sources first, then the
// image's own registry.
func (res Result) From() string {
	var names []string
	for _, o := range res.Content {
		names = append(names, o.Registry)
	}
	if len(names) == 0 && res.ContentSource != "" {
		names = append(names, res.ContentSource)
	}
	return strings.Join(names, ",")
}

// isTransportError reports whether err is a registry's error answer.
func isTransportError(err error) bool {
	var te *transport.Error
	return errors.As(err, &te)
}
