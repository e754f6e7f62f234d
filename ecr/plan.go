package ecr

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// defaultHeadJobs is how many images are checked at once. Checks are HEAD
// requests (free on Docker Hub) and ECR API reads; over a wide-area link
// their cost is round trips, not bandwidth, so many run together.
const defaultHeadJobs = 32

// eachLimit runs f over the plans, n at a time.
func eachLimit(plans []*plan, n int, f func(*plan)) {
	var g errgroup.Group
	g.SetLimit(max(n, 1))
	for _, p := range plans {
		g.Go(func() error { f(p); return nil })
	}
	_ = g.Wait()
}

// headBoth HEADs ref on the target while src runs, and returns the target's
// answer once both are done.
func headBoth(ctx context.Context, tgt *remote.Puller, ref name.Reference, src func()) (*v1.Descriptor, error) {
	var (
		d   *v1.Descriptor
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, err = tgt.Head(ctx, ref)
	}()
	src()
	<-done
	return d, err
}
