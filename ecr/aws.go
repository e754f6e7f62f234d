package ecr

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// api lists every AWS call the package makes, and nothing else: the IAM
// policy ecrbase needs is derived from this list. Every call goes through it.
type api interface {
	// ECR
	GetAuthorizationToken(ctx context.Context, in *awsecr.GetAuthorizationTokenInput, optFns ...func(*awsecr.Options)) (*awsecr.GetAuthorizationTokenOutput, error)
	CreateRepository(ctx context.Context, in *awsecr.CreateRepositoryInput, optFns ...func(*awsecr.Options)) (*awsecr.CreateRepositoryOutput, error)
	PutLifecyclePolicy(ctx context.Context, in *awsecr.PutLifecyclePolicyInput, optFns ...func(*awsecr.Options)) (*awsecr.PutLifecyclePolicyOutput, error)
	StartImageScan(ctx context.Context, in *awsecr.StartImageScanInput, optFns ...func(*awsecr.Options)) (*awsecr.StartImageScanOutput, error)
	DescribeImageScanFindings(ctx context.Context, in *awsecr.DescribeImageScanFindingsInput, optFns ...func(*awsecr.Options)) (*awsecr.DescribeImageScanFindingsOutput, error)
	BatchGetImage(ctx context.Context, in *awsecr.BatchGetImageInput, optFns ...func(*awsecr.Options)) (*awsecr.BatchGetImageOutput, error)
	DescribeRegistry(ctx context.Context, in *awsecr.DescribeRegistryInput, optFns ...func(*awsecr.Options)) (*awsecr.DescribeRegistryOutput, error)
	PutReplicationConfiguration(ctx context.Context, in *awsecr.PutReplicationConfigurationInput, optFns ...func(*awsecr.Options)) (*awsecr.PutReplicationConfigurationOutput, error)

	// STS
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// clients implements api with the SDK's ECR and STS clients.
type clients struct {
	ecr *awsecr.Client
	sts *sts.Client
}

func (c clients) GetAuthorizationToken(ctx context.Context, in *awsecr.GetAuthorizationTokenInput, optFns ...func(*awsecr.Options)) (*awsecr.GetAuthorizationTokenOutput, error) {
	return c.ecr.GetAuthorizationToken(ctx, in, optFns...)
}

func (c clients) CreateRepository(ctx context.Context, in *awsecr.CreateRepositoryInput, optFns ...func(*awsecr.Options)) (*awsecr.CreateRepositoryOutput, error) {
	return c.ecr.CreateRepository(ctx, in, optFns...)
}

func (c clients) PutLifecyclePolicy(ctx context.Context, in *awsecr.PutLifecyclePolicyInput, optFns ...func(*awsecr.Options)) (*awsecr.PutLifecyclePolicyOutput, error) {
	return c.ecr.PutLifecyclePolicy(ctx, in, optFns...)
}

func (c clients) StartImageScan(ctx context.Context, in *awsecr.StartImageScanInput, optFns ...func(*awsecr.Options)) (*awsecr.StartImageScanOutput, error) {
	return c.ecr.StartImageScan(ctx, in, optFns...)
}

func (c clients) DescribeImageScanFindings(ctx context.Context, in *awsecr.DescribeImageScanFindingsInput, optFns ...func(*awsecr.Options)) (*awsecr.DescribeImageScanFindingsOutput, error) {
	return c.ecr.DescribeImageScanFindings(ctx, in, optFns...)
}

func (c clients) BatchGetImage(ctx context.Context, in *awsecr.BatchGetImageInput, optFns ...func(*awsecr.Options)) (*awsecr.BatchGetImageOutput, error) {
	return c.ecr.BatchGetImage(ctx, in, optFns...)
}

func (c clients) DescribeRegistry(ctx context.Context, in *awsecr.DescribeRegistryInput, optFns ...func(*awsecr.Options)) (*awsecr.DescribeRegistryOutput, error) {
	return c.ecr.DescribeRegistry(ctx, in, optFns...)
}

func (c clients) PutReplicationConfiguration(ctx context.Context, in *awsecr.PutReplicationConfigurationInput, optFns ...func(*awsecr.Options)) (*awsecr.PutReplicationConfigurationOutput, error) {
	return c.ecr.PutReplicationConfiguration(ctx, in, optFns...)
}

func (c clients) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return c.sts.GetCallerIdentity(ctx, in, optFns...)
}

// awsConfig loads the SDK configuration: the default chain (env, profile,
// SSO, web identity, container credentials, IMDS), which also honours
// AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_STS.
func awsConfig(ctx context.Context, o *Options) (aws.Config, error) {
	if o.AWSConfig != nil {
		cfg := o.AWSConfig.Copy()
		if o.Region != "" {
			cfg.Region = o.Region
		}
		if cfg.HTTPClient == nil {
			cfg.HTTPClient = awsClient{c: awsHTTPClient(o.Timeout), d: o.Timeout}
		}
		return checkCredentials(cfg), nil
	}
	lo := []func(*config.LoadOptions) error{config.WithHTTPClient(awsHTTPClient(o.Timeout))}
	if o.Region != "" {
		lo = append(lo, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	cfg.HTTPClient = awsClient{c: cfg.HTTPClient, d: o.Timeout}
	return checkCredentials(cfg), nil
}

func newAPI(cfg aws.Config) api {
	return clients{ecr: awsecr.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg)}
}
