package ecr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxBatchImages is how many image ids BatchGetImage takes in one call.
const maxBatchImages = 100

// batchMediaTypes are the manifest types a batch check accepts, so ECR
// answers with the stored manifest and never converts it.
var batchMediaTypes = []string{
	string(types.OCIManifestSchema1), string(types.OCIImageIndex),
	string(types.DockerManifestSchema2), string(types.DockerManifestList),
}

// batchCheck answers "what does ECR have at this tag" for all the tags of a
// repository with one BatchGetImage call per 100 tags, instead of one
// registry HEAD per tag. Only what the API finds is trusted: an image it
// does not report, a failed or denied call (IAM may not grant it) leave the
// tag to the usual HEAD, so the API can only save requests, never turn a
// present image into a copy.
type batchCheck struct {
	api      api
	registry string // account, or "" for the caller's
	repos    map[string]*repoBatch
	denied   atomic.Bool // the API refused once: stop asking
}

type repoBatch struct {
	once   sync.Once
	refs   []string // tags or digests to ask for
	found  map[string]*v1.Descriptor
	absent bool // the API said the repository does not exist
}

func newBatchCheck(a api, account string, plans []*imageJob) *batchCheck {
	b := &batchCheck{api: a, registry: account, repos: map[string]*repoBatch{}}
	for _, p := range plans {
		id := imageID(p)
		if id == "" {
			continue
		}
		rb := b.repos[p.img.Repository]
		if rb == nil {
			rb = &repoBatch{}
			b.repos[p.img.Repository] = rb
		}
		rb.refs = append(rb.refs, id)
	}
	return b
}

// imageID is the tag, or the digest for a reference without a tag, that
// the job's target is written at.
func imageID(p *imageJob) string {
	s, err := parseSource(p.img.Source, nil, nil)
	if err != nil {
		return ""
	}
	if s.tag != "" {
		return s.tag
	}
	return s.digest
}

// lookup returns what ECR has at the job's target, when the batch call
// for its repository reported it.
func (b *batchCheck) lookup(ctx context.Context, p *imageJob) *v1.Descriptor {
	if b == nil {
		return nil
	}
	rb := b.repos[p.img.Repository]
	if rb == nil {
		return nil
	}
	rb.once.Do(func() { rb.found, rb.absent = b.fetch(ctx, p.img.Repository, rb.refs) })
	return rb.found[p.tgtRef.Identifier()]
}

// absent reports whether the API said, while planning, that the job's
// repository did not exist.
func (b *batchCheck) absent(p *imageJob) bool {
	if b == nil || b.repos[p.img.Repository] == nil {
		return false
	}
	return b.repos[p.img.Repository].absent
}

// existsNow asks the ECR API, for the job's target, whether its
// repository exists now. Any answer but "it exists" (not found, denied,
// failed) is no.
func (b *batchCheck) existsNow(ctx context.Context, p *imageJob) bool {
	if b == nil || b.denied.Load() {
		return false
	}
	id := ecrtypes.ImageIdentifier{ImageTag: aws.String(p.tgtRef.Identifier())}
	if _, ok := p.tgtRef.(name.Digest); ok {
		id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(p.tgtRef.Identifier())}
	}
	in := &awsecr.BatchGetImageInput{RepositoryName: aws.String(p.img.Repository), AcceptedMediaTypes: batchMediaTypes,
		ImageIds: []ecrtypes.ImageIdentifier{id}}
	if b.registry != "" {
		in.RegistryId = aws.String(b.registry)
	}
	_, err := b.api.BatchGetImage(ctx, in)
	return err == nil
}

func (b *batchCheck) fetch(ctx context.Context, repo string, refs []string) (found map[string]*v1.Descriptor, absent bool) {
	found = map[string]*v1.Descriptor{}
	for start := 0; start < len(refs) && !b.denied.Load(); start += maxBatchImages {
		in := &awsecr.BatchGetImageInput{RepositoryName: aws.String(repo), AcceptedMediaTypes: batchMediaTypes}
		if b.registry != "" {
			in.RegistryId = aws.String(b.registry)
		}
		for _, ref := range refs[start:min(start+maxBatchImages, len(refs))] {
			if strings.Contains(ref, ":") {
				in.ImageIds = append(in.ImageIds, ecrtypes.ImageIdentifier{ImageDigest: aws.String(ref)})
			} else {
				in.ImageIds = append(in.ImageIds, ecrtypes.ImageIdentifier{ImageTag: aws.String(ref)})
			}
		}
		out, err := b.api.BatchGetImage(ctx, in)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && (ae.ErrorCode() == "AccessDeniedException" || strings.Contains(ae.ErrorCode(), "NotAuthorized")) {
				b.denied.Store(true)
			}
			var notFound *ecrtypes.RepositoryNotFoundException
			return found, errors.As(err, &notFound) // the rest: HEADs decide
		}
		for _, img := range out.Images {
			d, err := v1.NewHash(aws.ToString(img.ImageId.ImageDigest))
			if err != nil || img.ImageManifest == nil {
				continue
			}
			desc := &v1.Descriptor{Digest: d, Size: int64(len(aws.ToString(img.ImageManifest))), MediaType: types.MediaType(aws.ToString(img.ImageManifestMediaType))}
			if desc.MediaType == "" {
				continue
			}
			if t := aws.ToString(img.ImageId.ImageTag); t != "" {
				found[t] = desc
			}
			found[d.String()] = desc
		}
	}
	return found, false
}

// knownTarget is the batch answer for the job's target as a HEAD would
// give it; nil when the batch did not find it.
func (r *run) knownTarget(p *imageJob) (*v1.Descriptor, bool) {
	d := r.batch.lookup(p.ctx, p)
	if d == nil {
		return nil, false
	}
	if _, ok := p.tgtRef.(name.Digest); ok && d.Digest.String() != p.tgtRef.Identifier() {
		return nil, false
	}
	return d, true
}
