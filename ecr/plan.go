package ecr

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// eachLimit runs f over the plans, n at a time.
func eachLimit(plans []*imageJob, n int, f func(*imageJob)) {
	var g errgroup.Group
	g.SetLimit(max(n, 1))
	for _, p := range plans {
		g.Go(func() error { f(p); return nil })
	}
	_ = g.Wait()
}

// headBoth runs the target check tgt while src runs, and returns the
// target's answer once both are done.
func headBoth(ctx context.Context, tgt func(context.Context) (*v1.Descriptor, error), src func()) (*v1.Descriptor, error) {
	var (
		d   *v1.Descriptor
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, err = tgt(ctx)
	}()
	src()
	<-done
	return d, err
}

// checkTarget finds what ECR has at the job's target while src runs: from
// the batch ECR API answer for its repository when that has it, else with
// a registry HEAD. Until ECR has answered, the source client holds back its
// decision on a 429 or a failure (imageCtx.awaitTarget): whether ECR has
// the tag decides whether it waits or gives up at once.
func (r *run) checkTarget(p *imageJob, src func()) (*v1.Descriptor, error) {
	p.ic.tgtKnown = make(chan struct{})
	return headBoth(p.ctx, func(ctx context.Context) (d *v1.Descriptor, err error) {
		defer func() {
			p.ic.keep.Store(err == nil && d != nil)
			close(p.ic.tgtKnown)
		}()
		if d, ok := r.knownTarget(p); ok {
			return d, nil
		}
		return r.tgtGet.Head(ctx, p.tgtRef)
	}, src)
}
