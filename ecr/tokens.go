package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// tokenBatch is how many repositories one shared token covers at most. Each
// scope is a query parameter of the token request, so the URL stays well
// under the 8 KiB that servers commonly accept.
const tokenBatch = 50

// sharedTokens lets the source checks of many repositories of one registry
// use one bearer token. go-containerregistry's remote.Puller logs in once
// per repository (one ping, one token request each); Docker Hub's token
// service, like the distribution spec's, grants several scope= parameters
// in one request. transport.NewWithContext already takes several scopes, so
// the token is fetched by go-containerregistry itself; what it cannot
// express is sharing that transport across repositories, which is what
// this wrapper does: it hands the logged-in transport to a puller of its
// own as a transport.Wrapper, which the puller uses as it is.
//
// Only the checks (manifest HEADs) use it. Whenever the shared token does
// not work (the token service refuses several scopes, or a HEAD still gets
// 401), the check falls back to the source client's own per-repository
// login. The token stays inside go-containerregistry's bearer transport: it
// is never put in an error or an event.
type sharedTokens struct {
	batch map[string]*tokenGroup // registry/repository -> its group
}

// tokenGroup is one token's worth of repositories of one registry.
type tokenGroup struct {
	reg    name.Registry
	scopes []string
	once   sync.Once
	puller *remote.Puller // nil when the login failed
	// refPuller lists referrers with the same token (the referrers API
	// only, as the run's referrers client does).
	refPuller *remote.Puller
	// broken is set once a check got 401 or 403 with the shared token:
	// the other repositories of the group then log in on their own
	// straight away.
	broken atomic.Bool
}

// newSharedTokens groups the repositories the plans read by registry, in
// batches of tokenBatch. A registry read for one repository only is left to
// the per-repository flow.
func newSharedTokens(r *run, plans []*imageJob) *sharedTokens {
	byReg := map[string][]name.Repository{}
	regs := map[string]name.Registry{}
	seen := map[string]bool{}
	for _, p := range plans {
		src, err := parseSource(p.img.Source, r.mirrors, r.insecure)
		if err != nil {
			continue
		}
		repo := src.read
		key := repo.Name()
		if seen[key] {
			continue
		}
		seen[key] = true
		reg := repo.Registry.RegistryStr()
		byReg[reg] = append(byReg[reg], repo)
		regs[reg] = repo.Registry
	}
	st := &sharedTokens{batch: map[string]*tokenGroup{}}
	for reg, repos := range byReg {
		if len(repos) < 2 {
			continue
		}
		for i := 0; i < len(repos); i += tokenBatch {
			g := &tokenGroup{reg: regs[reg]}
			for _, repo := range repos[i:min(i+tokenBatch, len(repos))] {
				g.scopes = append(g.scopes, repo.Scope(transport.PullScope))
				st.batch[repo.Name()] = g
			}
		}
	}
	return st
}

// login logs the group in once, with all its scopes in one token request.
func (g *tokenGroup) login(ctx context.Context, r *run) *remote.Puller {
	g.once.Do(func() {
		auth, err := r.keychain.Resolve(g.reg)
		if err != nil {
			return
		}
		// The puller does not wrap a transport.Wrapper in its retry and
		// user-agent transports, so they go inside, as the source client
		// has them.
		inner := transport.NewRetry(transport.NewUserAgent(r.srcRT, "ecrbase"),
			transport.WithRetryBackoff(r.o.backoff),
			transport.WithRetryPredicate(retryable(false)),
			transport.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusInternalServerError,
				http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout))
		// The login is shared: one image giving up must not cancel it for
		// the others.
		rt, err := transport.NewWithContext(context.WithoutCancel(ctx), g.reg, auth, inner, g.scopes)
		if err != nil {
			return
		}
		g.puller, _ = remote.NewPuller(remote.WithTransport(rt), remote.WithUserAgent("ecrbase"))
		g.refPuller, _ = remote.NewPuller(remote.WithTransport(rt), remote.WithUserAgent("ecrbase"), remote.WithReferrersTagFallback(false))
	})
	return g.puller
}

// sharedPuller returns the logged-in shared puller of repo's group, or nil
// when it has none or its token stopped working. Copies use it for their
// reads too, so a repository copied after its check logs in no more.
func (r *run) sharedPuller(ctx context.Context, repo name.Repository) *tokenGroup {
	if st := r.tokens; st != nil {
		if g := st.batch[repo.Name()]; g != nil && !g.broken.Load() && g.login(ctx, r) != nil {
			return g
		}
	}
	return nil
}

// unauthorized reports whether err is a 401 or 403 answer: the shared token
// does not open the repository.
func unauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
}

// srcGet reads ref with the shared token when it works, else with the
// source client (see srcHead).
func (r *run) srcGet(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	if g := r.sharedPuller(ctx, ref.Context()); g != nil {
		d, err := g.puller.Get(ctx, ref)
		if !unauthorized(err) {
			return d, err
		}
		g.broken.Store(true)
	}
	return r.src.Get(ctx, ref)
}

// srcLayer opens a source blob with the shared token when it works, else
// with the source client.
func (r *run) srcLayer(ctx context.Context, ref name.Digest) (v1.Layer, error) {
	if g := r.sharedPuller(ctx, ref.Context()); g != nil {
		l, err := g.puller.Layer(ctx, ref)
		if err == nil {
			return sharedLayer{Layer: l, g: g, r: r, ctx: ctx, ref: ref}, nil
		}
		if !unauthorized(err) {
			return nil, err
		}
		g.broken.Store(true)
	}
	return r.src.Layer(ctx, ref)
}

// sharedLayer falls back to the source client when the shared token is
// refused as the blob is opened.
type sharedLayer struct {
	v1.Layer
	g   *tokenGroup
	r   *run
	ctx context.Context
	ref name.Digest
}

func (l sharedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if !unauthorized(err) {
		return rc, err
	}
	l.g.broken.Store(true)
	own, err := l.r.src.Layer(l.ctx, l.ref)
	if err != nil {
		return nil, err
	}
	return own.Compressed()
}

// errNoReferrersClient wraps the error of making the referrers client.
var errNoReferrersClient = errors.New("no referrers client")

// listReferrers lists what refers to d through the referrers API, with the
// shared token of d's repository when it works, else with the run's
// referrers client. Errors are those of remote.Referrers.
func (r *run) listReferrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, error) {
	list := func(pl *remote.Puller) (*v1.IndexManifest, error) {
		idx, err := remote.Referrers(d, remote.Reuse(pl), remote.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		return idx.IndexManifest()
	}
	if g := r.sharedPuller(ctx, d.Context()); g != nil && g.refPuller != nil {
		im, err := list(g.refPuller)
		if !unauthorized(err) {
			return im, err
		}
		g.broken.Store(true)
	}
	pl, err := r.referrersPuller()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoReferrersClient, err)
	}
	return list(pl)
}

// head checks ref with the group's shared token when there is one that
// works, and with the source client otherwise.
func (r *run) srcHead(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	if st := r.tokens; st != nil {
		if g := st.batch[ref.Context().Name()]; g != nil && !g.broken.Load() {
			if pl := g.login(ctx, r); pl != nil {
				d, err := pl.Head(ctx, ref)
				var te *transport.Error
				if err == nil || !errors.As(err, &te) || (te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden) {
					return d, err
				}
				g.broken.Store(true)
			}
		}
	}
	return r.src.Head(ctx, ref)
}
