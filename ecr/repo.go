package ecr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

type repoOnce struct {
	once sync.Once
	err  error
}

// ensureRepository creates a repository once per run. Another run creating
// it at the same moment is fine: RepositoryAlreadyExistsException counts as
// success.
func (r *run) ensureRepository(ctx context.Context, img Image) error {
	v, _ := r.repos.LoadOrStore(img.Repository, &repoOnce{})
	ro := v.(*repoOnce)
	ro.once.Do(func() { ro.err = r.createRepository(ctx, img) })
	return ro.err
}

func (r *run) createRepository(ctx context.Context, img Image) error {
	repo := img.Repository
	o := r.o
	in := &awsecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: o.ScanOnPush},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256},
	}
	if r.auth.account != "" {
		in.RegistryId = aws.String(r.auth.account)
	}
	if o.KMSKey != "" {
		in.EncryptionConfiguration = &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String(o.KMSKey)}
	}
	if o.TagMutability != "" {
		in.ImageTagMutability = types.ImageTagMutability(o.TagMutability)
	}
	keys := make([]string, 0, len(o.RepositoryTags))
	for k := range o.RepositoryTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(o.RepositoryTags[k])})
	}
	_, err := o.api.CreateRepository(ctx, in)
	var exists *types.RepositoryAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		r.createdElsewhere.Store(repo, true)
	case err != nil:
		return &TargetError{Op: "ecr CreateRepository " + repo, Err: err}
	default:
		r.em.emit(Event{Image: img.Source, Kind: "repository", Status: "created", Message: fmt.Sprintf("%s, scan-on-push %t", repo, o.ScanOnPush)})
	}
	if o.LifecyclePolicy != "" {
		pin := &awsecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(o.LifecyclePolicy), RegistryId: in.RegistryId}
		if _, err := o.api.PutLifecyclePolicy(ctx, pin); err != nil {
			return &TargetError{Op: "ecr PutLifecyclePolicy " + repo, Err: err}
		}
	}
	return nil
}
