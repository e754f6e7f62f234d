package ecr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"ecrbase/internal/registry"
)

// run is one Mirror call.
type run struct {
	insecure  map[string]bool // hosts that may be read over plain HTTP besides loopback
	o         *Options
	red       *redactor
	em        *emitter
	ledger    *pullLedger
	auth      *ecrAuth
	mirrors   map[string]mirror
	platforms []v1.Platform

	registry string // ECR host, as named in reports
	pushRepo func(string) (name.Repository, error)

	src    *remote.Puller    // source registries
	tgtGet *remote.Puller    // ECR, reads
	tgtPut *remote.Pusher    // ECR, writes
	tgtRT  http.RoundTripper // ECR, below go-containerregistry: cancels upload sessions

	content   map[string][]*contentSource // canonical registry -> content sources
	csPull    *remote.Puller              // content sources, reads
	csTimeout time.Duration
	srcRT     http.RoundTripper // the source client's transport, for the referrers client
	keychain  authn.Keychain
	tokens    *sharedTokens // one source token for the checks of many repositories

	refPullOnce sync.Once // the referrers client, made once
	refPull     *remote.Puller
	refPullErr  error
	imgContent  sync.Map // *imageJob -> *imageContent

	batch *batchCheck // ECR API answers for many tags at once; nil when off

	repos            sync.Map // repository name -> *repoOnce
	createdElsewhere sync.Map // repository name -> true: CreateRepository found it already there
	homes            sync.Map // blob digest -> *blobHome: where this run put it in ECR
}

// imageJob is one image's state between planning and copying.
type imageJob struct {
	img         Image
	res         *Result
	src         sourceRef
	ic          *imageCtx
	ctx         context.Context
	tgtRepo     name.Repository
	tgtRef      name.Reference // tag, or digest when the source has no tag
	srcDesc     *v1.Descriptor
	srcErr      error // the source HEAD's error, while planning
	tgtDesc     *v1.Descriptor
	readHost    string
	err         error
	start       time.Time
	pushed      []v1.Descriptor // image manifests of the copy, for the scan gate
	refPulls    int             // counted pulls planned for referrers, part of res.PullsNeeded
	imgEstimate bool            // the image's own pulls (referrers aside) are an estimate
	refNone     bool            // the plan found that the source has no referrer of the image
	written     bool            // the target was written: a later failure (scan) keeps the new digest
}

// Mirror copies images into ECR. For each image it HEADs the source (free on
// Docker Hub) and the ECR tag; an up-to-date image costs no GET on the source.
// Missing images are copied, and stale ones (the upstream tag moved) updated
// unless WithNoUpdate. Manifests are copied byte for byte so digests survive,
// blobs stream from source to ECR and are skipped when ECR has them, and the
// tag is written last. Repositories are created as needed.
//
// The report always describes every image. The error is a *MirrorError when
// some images failed (the others were still mirrored), or another error when
// nothing could be attempted (no region, no registry login). In a dry run
// nothing is written, no counted pull is spent, and per-image problems are
// reported in the report only.
func Mirror(ctx context.Context, images []Image, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	r := &run{o: o, red: &redactor{}, ledger: newPullLedger(), mirrors: map[string]mirror{}}
	r.red.add(dockerHubSecrets(o.getenv)...)
	r.em = &emitter{w: o.Progress, log: o.Logger, fn: o.OnEvent, red: r.red}
	rep, err := r.mirror(ctx, images)
	if err != nil {
		return rep, r.red.err(err)
	}
	return rep, nil
}

func (r *run) mirror(ctx context.Context, images []Image) (*Report, error) {
	o := r.o
	var err error
	if r.mirrors, err = parseMirrors(o.Mirrors, o.Insecure); err != nil {
		return nil, err
	}
	for _, m := range r.mirrors {
		if m.user != nil {
			if pass, ok := m.user.Password(); ok {
				r.red.add(pass, url.UserPassword(m.user.Username(), pass).String())
			}
		}
	}
	for _, p := range o.Platforms {
		pl, err := parsePlatform(p)
		if err != nil {
			return nil, err
		}
		r.platforms = append(r.platforms, pl)
	}

	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, ErrNoRegion
	}
	if o.api == nil {
		o.api = newAPI(cfg)
	}
	rep := &Report{Region: cfg.Region, DryRun: o.DryRun, Images: []Result{}}
	if len(images) == 0 {
		return rep, nil
	}

	// The account names the registry to log in to. Without one from the
	// options or the environment, the token's proxyEndpoint names the
	// caller's own registry, so no STS call is needed.
	account := ""
	if o.Account != "" || o.getenv("AWS_ACCOUNT_ID") != "" || o.getenv("CODEBUILD_BUILD_ARN") != "" {
		if account, _, err = resolveAccount(ctx, o); err != nil {
			return nil, err
		}
	}
	r.auth = &ecrAuth{api: o.api, account: account, red: r.red, minLife: o.tokenMinLife, now: time.Now}
	host, err := r.auth.login(ctx)
	if err != nil {
		// No image can be checked or written: each is reported as failed
		// on the ECR side, so --json still says which side failed.
		err = targetErr("logging in to ECR", err)
		for _, img := range images {
			rep.Images = append(rep.Images, Result{Source: img.Source, Repository: img.Repository,
				Status: TargetFailed, Action: Fail, Error: r.red.String(err.Error())})
		}
		rep.Failed = len(images)
		return rep, err
	}
	r.registry = host
	rep.Registry = host
	rep.Account, _, _ = strings.Cut(host, ".")
	if account != "" {
		rep.Account = account
	}

	if err := r.transports(); err != nil {
		return nil, err
	}
	if err := r.contentSetup(); err != nil {
		return nil, err
	}

	plans := r.plans(ctx, images)
	rep.Images = make([]Result, len(plans))
	if !o.NoBatchCheck {
		r.batch = newBatchCheck(o.api, account, plans)
	}
	if !o.NoSharedTokens {
		r.tokens = newSharedTokens(r, plans)
	}
	eachLimit(plans, r.o.HeadJobs, func(p *imageJob) { r.planImage(p) })
	r.budget(plans)

	if !o.DryRun {
		r.each(plans, func(p *imageJob) { r.act(p) })
	}

	var failed []error
	for i, p := range plans {
		p.res.PullsUsed = int(p.ic.pulls.Load())
		if p.err != nil && errors.Is(p.err, ErrTarget) {
			p.res.Status = TargetFailed
		}
		if p.err != nil {
			if !p.written {
				p.res.Action, p.res.Digest = Fail, p.res.TargetDigest
			}
			p.res.Error = r.red.String(p.err.Error())
			failed = append(failed, &imageError{source: p.img.Source, err: p.err, red: r.red})
		}
		r.contentReport(p, rep)
		rep.Images[i] = *p.res
		rep.PullsNeeded += p.res.PullsNeeded
		rep.PullsEstimate = rep.PullsEstimate || p.res.PullsEstimate
		rep.PullsUsed += p.res.PullsUsed
	}
	rep.Quotas = r.ledger.all()
	rep.Failed = len(failed)
	if len(failed) > 0 && !o.DryRun {
		return rep, &MirrorError{Total: len(plans), Images: failed}
	}
	return rep, nil
}

// transports builds the source and ECR clients.
func (r *run) transports() error {
	o := r.o
	base := func() http.RoundTripper { return silence{inner: newTransport(o.Timeout), d: o.Timeout} }

	srcSchemes := schemes{explicit: map[string]string{}, insecure: map[string]bool{}}
	r.insecure = srcSchemes.insecure
	for _, h := range o.Insecure {
		srcSchemes.insecure[h] = true
	}
	for _, m := range r.mirrors {
		srcSchemes.explicit[m.host] = m.scheme
	}
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.NewMultiKeychain(envKeychain{getenv: o.getenv}, authn.DefaultKeychain)
	}
	// A mirror URL's user:password@ logs in to that mirror.
	var userinfo mirrorKeychain
	for _, m := range r.mirrors {
		if pass, ok := m.user.Password(); ok {
			userinfo = append(userinfo, hostKey{host: m.host, cfg: authn.AuthConfig{Username: m.user.Username(), Password: pass}})
		}
	}
	if len(userinfo) > 0 {
		keychain = authn.NewMultiKeychain(userinfo, keychain)
	}
	keychain = redactingKeychain{k: keychain, red: r.red}
	var err error
	r.srcRT, r.keychain = &sourceTransport{inner: httpsUpgrader{inner: base(), schemes: srcSchemes}, ledger: r.ledger, o: o, emit: r.em.emit}, keychain
	r.src, err = remote.NewPuller(
		remote.WithTransport(r.srcRT),
		remote.WithAuthFromKeychain(keychain),
		remote.WithRetryBackoff(o.backoff),
		remote.WithRetryPredicate(retryable(false)),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		remote.WithUserAgent("ecrbase"),
		// The puller caps concurrent blob reads at its jobs; every image's
		// blob streams share it.
		remote.WithJobs(o.Jobs*o.BlobJobs),
	)
	if err != nil {
		return fmt.Errorf("configuring source client: %w", err)
	}

	pushHost, scheme := r.registry, "https"
	if o.RegistryEndpoint != "" {
		u, _ := url.Parse(o.RegistryEndpoint)
		pushHost, scheme = u.Host, u.Scheme
	}
	var nameOpts []name.Option
	if scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r.pushRepo = func(repo string) (name.Repository, error) {
		return name.NewRepository(pushHost+"/"+repo, nameOpts...)
	}
	r.tgtRT = httpsUpgrader{inner: base(), schemes: schemes{explicit: map[string]string{pushHost: scheme}}}
	tgtOpts := []remote.Option{
		remote.WithTransport(&targetTransport{inner: r.tgtRT}),
		remote.WithAuth(r.auth),
		remote.WithRetryBackoff(o.backoff),
		remote.WithRetryPredicate(retryable(true)),
		remote.WithJobs(o.BlobJobs),
		remote.WithUserAgent("ecrbase"),
	}
	if r.tgtGet, err = remote.NewPuller(tgtOpts...); err != nil {
		return fmt.Errorf("configuring ECR client: %w", err)
	}
	if r.tgtPut, err = remote.NewPusher(tgtOpts...); err != nil {
		return fmt.Errorf("configuring ECR client: %w", err)
	}
	return nil
}

// plans dedupes the images and prepares a result for each.
func (r *run) plans(ctx context.Context, images []Image) []*imageJob {
	seen := map[Image]bool{}
	var plans []*imageJob
	for _, img := range images {
		if seen[img] {
			continue
		}
		seen[img] = true
		p := &imageJob{img: img, res: &Result{Source: img.Source, Repository: img.Repository}}
		p.ctx, p.ic = withImage(ctx, img.Source)
		plans = append(plans, p)
	}
	return plans
}

// each runs f over the plans, Jobs at a time.
func (r *run) each(plans []*imageJob, f func(*imageJob)) {
	var g errgroup.Group
	g.SetLimit(r.o.Jobs)
	for _, p := range plans {
		g.Go(func() error { f(p); return nil })
	}
	_ = g.Wait()
}

func (r *run) fail(p *imageJob, err error) {
	p.err = err
	r.em.emit(Event{Image: p.img.Source, Kind: "error", Message: err.Error()})
}

func (r *run) warn(p *imageJob, msg string) {
	msg = r.red.String(msg)
	p.res.Warnings = append(p.res.Warnings, msg)
	r.em.emit(Event{Image: p.img.Source, Kind: "warning", Message: msg})
}

// planImage HEADs the source and the ECR target and decides what to do.
func (r *run) planImage(p *imageJob) {
	ctx, res := p.ctx, p.res
	var err error
	res.Status, res.Action = Unresolved, Fail
	if p.src, err = parseSource(p.img.Source, r.mirrors, r.insecure); err != nil {
		r.fail(p, err)
		return
	}
	// The name rewrite writes into Dockerfiles is checked by the same rule.
	if err = registry.CheckRepository(p.img.Repository); err != nil {
		r.fail(p, err)
		return
	}
	if p.tgtRepo, err = r.pushRepo(p.img.Repository); err != nil {
		r.fail(p, fmt.Errorf("repository %q: %w", p.img.Repository, err))
		return
	}
	if p.src.tag != "" {
		p.tgtRef = p.tgtRepo.Tag(p.src.tag)
		res.Target = r.registry + "/" + p.img.Repository + ":" + p.src.tag
	} else {
		p.tgtRef = p.tgtRepo.Digest(p.src.digest)
		res.Target = r.registry + "/" + p.img.Repository + "@" + p.src.digest
	}
	p.readHost = p.src.read.RegistryStr()

	// Both HEADs at once: over a wide-area link each is a round trip. The
	// source client waits for ECR's answer before it decides about a 429 or
	// a failure: when ECR has the tag, a 429 is not waited out and ECR's
	// copy is kept at once.
	tgtDesc, err := r.checkTarget(p, func() {
		p.srcDesc, p.srcErr = r.srcHead(ctx, p.src.readRef())
	})
	srcDesc, srcErr := p.srcDesc, p.srcErr
	p.srcDesc, p.srcErr = nil, nil
	if err != nil && !notFound(err) {
		// The source was still looked at (a free HEAD), for the report.
		if srcErr == nil {
			res.SourceDigest, res.MediaType = srcDesc.Digest.String(), string(srcDesc.MediaType)
		}
		res.Quota = r.ledger.quota(p.readHost)
		r.fail(p, targetErr("checking "+res.Target, err))
		return
	}
	p.tgtDesc = tgtDesc
	srcDesc, srcErr = r.pinnedFromContent(p, srcDesc, srcErr)
	res.Quota = r.ledger.quota(p.readHost)
	if tgtDesc != nil {
		res.TargetDigest = tgtDesc.Digest.String()
	}

	switch {
	case p.src.digest != "" && tgtDesc != nil && tgtDesc.Digest.String() == p.src.digest:
		// A pinned digest ECR already has needs nothing from the source.
		res.Status, res.Action, res.Digest = UpToDate, None, p.src.digest
		if srcDesc != nil {
			res.SourceDigest, res.MediaType = srcDesc.Digest.String(), string(srcDesc.MediaType)
		}
	case srcErr != nil:
		srcErr = r.sourceError(p, srcErr)
		if tgtDesc != nil && unreachable(srcErr) {
			res.Action, res.Digest = Keep, tgtDesc.Digest.String()
			r.warn(p, fmt.Sprintf("source unreachable (%v); keeping %s at %s in ECR", srcErr, res.Target, res.Digest))
			break
		}
		switch {
		case unreachable(srcErr):
			srcErr = fmt.Errorf("%w: %w", ErrSourceUnreachable, srcErr)
		case notFound(srcErr):
			srcErr = fmt.Errorf("%w (%w)", ErrSourceNotFound, srcErr)
		}
		r.fail(p, fmt.Errorf("reading %s: %w", p.srcName(), srcErr))
		return
	default:
		p.srcDesc = srcDesc
		res.SourceDigest, res.MediaType = srcDesc.Digest.String(), string(srcDesc.MediaType)
		switch {
		case tgtDesc == nil:
			res.Status, res.Action = Missing, Copy
		case r.upToDate(p):
			res.Status, res.Action, res.Digest = UpToDate, None, tgtDesc.Digest.String()
		case r.o.NoUpdate:
			res.Status, res.Action, res.Digest = Stale, Keep, tgtDesc.Digest.String()
			r.warn(p, fmt.Sprintf("upstream %s is now %s; keeping %s in ECR (no-update)", p.src.readRef(), res.SourceDigest, res.Digest))
		default:
			res.Status, res.Action = Stale, Update
		}
		if res.Action == Copy || res.Action == Update {
			res.PullsNeeded, res.PullsEstimate = r.pullsNeeded(p)
			r.planContent(p)
			r.planReferrers(p)
			if len(r.platforms) == 0 || !srcDesc.MediaType.IsIndex() {
				res.Digest = res.SourceDigest
			}
		}
	}
	msg := fmt.Sprintf("action %s, %d counted pulls needed", res.Action, res.PullsNeeded)
	if res.Quota != nil {
		msg += ", quota " + res.Quota.String()
	}
	r.em.emit(Event{Image: p.img.Source, Kind: "plan", Status: string(res.Status), Digest: res.SourceDigest, Message: msg})
}

// srcName names the source as given, and the mirror it is read through.
func (p *imageJob) srcName() string {
	if p.src.read.RegistryStr() != p.src.canonical.RegistryStr() {
		return p.img.Source + " via " + p.src.read.RegistryStr()
	}
	return p.img.Source
}

// upToDate compares the ECR tag with the source. A platform subset is a new
// index, so it is compared through the source digest recorded in it.
func (r *run) upToDate(p *imageJob) bool {
	if p.tgtDesc.Digest == p.srcDesc.Digest {
		return true
	}
	if len(r.platforms) == 0 || !p.srcDesc.MediaType.IsIndex() || !p.tgtDesc.MediaType.IsIndex() {
		return false
	}
	idx, err := r.targetIndex(p)
	if err != nil {
		return false
	}
	return idx.Annotations[annotationSource] == p.srcDesc.Digest.String() &&
		idx.Annotations[annotationPlatforms] == platformList(r.platforms)
}

// targetIndex reads the index ECR has for the target; ECR reads are free.
func (r *run) targetIndex(p *imageJob) (*v1.IndexManifest, error) {
	d, err := r.tgtGet.Get(p.ctx, p.tgtRef)
	if err != nil {
		return nil, err
	}
	return v1.ParseIndexManifest(strings.NewReader(string(d.Manifest)))
}

// pullsNeeded counts the manifest GETs a copy costs: one for the manifest,
// plus one per platform of an index.
func (r *run) pullsNeeded(p *imageJob) (n int, estimate bool) {
	if !p.srcDesc.MediaType.IsIndex() {
		return 1, false
	}
	if len(r.platforms) > 0 {
		return 1 + len(r.platforms), false
	}
	// What ECR has now is the best guess of how many platforms the new index
	// has; reading it costs nothing.
	if p.tgtDesc != nil && p.tgtDesc.MediaType.IsIndex() {
		if idx, err := r.targetIndex(p); err == nil && len(idx.Manifests) > 0 {
			return 1 + len(idx.Manifests), true
		}
	}
	return 2, true
}

// budget refuses, before any counted pull, the copies from a registry whose
// remaining quota is smaller than what they need.
func (r *run) budget(plans []*imageJob) {
	need, refs := map[string]int{}, map[string]int{}
	for _, p := range plans {
		if p.err == nil && (p.res.Action == Copy || p.res.Action == Update) {
			// Referrers do not stop their image: those the quota cannot
			// cover are skipped with a warning while copying.
			need[p.readHost] += p.res.PullsNeeded - p.refPulls
			refs[p.readHost] += p.refPulls
		}
	}
	for _, p := range plans {
		q := r.ledger.quota(p.readHost)
		if p.err != nil || p.refPulls == 0 || q == nil || need[p.readHost] > q.Remaining ||
			need[p.readHost]+refs[p.readHost] <= q.Remaining {
			continue
		}
		r.warn(p, fmt.Sprintf("the copies' signatures and referrers need %d more counted pulls than the quota seen on %s has left (%s): those it cannot cover are skipped",
			need[p.readHost]+refs[p.readHost]-q.Remaining, p.readHost, q))
	}
	hosts := make([]string, 0, len(need))
	for h := range need {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, host := range hosts {
		q := r.ledger.quota(host)
		if q == nil || need[host] <= q.Remaining {
			continue
		}
		err := fmt.Errorf("%w on %s: the copies need %d counted pulls, quota seen: %s", ErrPullBudget, host, need[host], q)
		for _, p := range plans {
			// An image that needs no counted pull (a content source holds
			// it) spends nothing, so the budget does not stop it.
			free := p.res.PullsNeeded-p.refPulls == 0 && !p.imgEstimate
			if p.err == nil && !free && p.readHost == host && (p.res.Action == Copy || p.res.Action == Update) {
				switch {
				case r.o.DryRun:
					r.warn(p, err.Error())
				case !r.keepStale(p, err):
					r.fail(p, err)
				}
			}
		}
	}
}

// act copies an image when the plan says so, then runs the scan gate.
func (r *run) act(p *imageJob) {
	if p.err != nil {
		return
	}
	p.start = time.Now()
	res := p.res
	if res.Action != Copy && res.Action != Update {
		r.done(p)
		return
	}
	if r.landedMeanwhile(p) {
		r.done(p)
		return
	}
	r.em.emit(Event{Image: p.img.Source, Kind: "start", Status: string(res.Action), Digest: res.SourceDigest, Message: "to " + res.Target})
	if r.copiedByOther(p) {
		r.done(p)
		return
	}
	digest, err := r.copy(p)
	if err != nil {
		// The source cannot give the update now: ECR's copy stays. A target
		// failure, or bytes that do not match their digest, fail the image.
		canKeep := !errors.Is(err, ErrTarget) && !errors.Is(err, ErrDigestMismatch) &&
			(unreachable(err) || errors.Is(err, ErrRateLimited) || errors.Is(err, ErrPullBudget) || errors.Is(err, errHeadMismatch))
		if !(canKeep && r.keepStale(p, err)) {
			r.fail(p, err)
		}
		r.done(p)
		return
	}
	res.Digest, p.written = digest, true
	r.copyReferrers(p)
	if r.o.ScanWait {
		if err := r.scanGate(p); err != nil {
			r.fail(p, err)
		}
	}
	r.done(p)
}

// keepStale turns an update that cannot be done now (no pulls left, 429,
// source down) into keeping what ECR has, with a warning: the build still
// works from ECR, it just does not get the upstream change yet. It reports
// false for anything but an update of a tag ECR has.
func (r *run) keepStale(p *imageJob, err error) bool {
	if p.res.Action != Update || p.tgtDesc == nil || p.written {
		return false
	}
	p.res.Action, p.res.Digest = Keep, p.tgtDesc.Digest.String()
	r.warn(p, fmt.Sprintf("upstream moved to %s but cannot be copied now (%v); keeping %s at %s in ECR",
		p.res.SourceDigest, err, p.res.Target, p.res.Digest))
	return true
}

func (r *run) done(p *imageJob) {
	res := p.res
	status := map[Action]string{None: "up-to-date", Copy: "copied", Update: "updated", Keep: "kept"}[res.Action]
	if p.err != nil {
		status = "failed"
		if !p.written {
			// The target keeps what it had, if anything.
			res.Digest = res.TargetDigest
		}
	}
	var elapsed time.Duration
	if !p.start.IsZero() {
		elapsed = time.Since(p.start)
		res.Seconds = elapsed.Seconds()
	}
	r.em.emit(Event{Image: p.img.Source, Kind: "done", Status: status, Digest: res.Digest, Bytes: res.Bytes, Elapsed: elapsed,
		Message: fmt.Sprintf("%s, %d blobs copied, %d skipped, %d counted pulls", res.Target, res.BlobsCopied, res.BlobsSkipped, p.ic.pulls.Load())})
}

// mirrorKeychain serves the credentials of mirror URLs to their hosts.
type mirrorKeychain []hostKey

type hostKey struct {
	host string
	cfg  authn.AuthConfig
}

func (k mirrorKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	for _, h := range k {
		if r.RegistryStr() == h.host {
			return authn.FromConfig(h.cfg), nil
		}
	}
	return authn.Anonymous, nil
}

// sourceError turns a 429 into a RateLimitError that says how long the
// image waited; other errors are returned as they are.
func (r *run) sourceError(p *imageJob, err error) error {
	err = r.ledger.sourceError(p.readHost, err)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		rl.Waited = time.Duration(p.ic.waited.Load())
	}
	return err
}

// notFound reports whether a registry answered 404 (unknown manifest or
// repository).
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
