package ecr

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"ecrbase/internal/registry"
)

// Target is the ECR registry images are mirrored into.
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Registry is the registry host, 123456789012.dkr.ecr.us-east-1.amazonaws.com.
	// Mirror takes it from the authorization token's proxyEndpoint;
	// ResolveTarget builds it from Account and Region.
	Registry string `json:"registry"`
	// AccountFrom says where Account came from: option, AWS_ACCOUNT_ID,
	// CODEBUILD_BUILD_ARN or sts.
	AccountFrom string `json:"account_from"`
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// ResolveTarget finds the target account and region without touching the
// registry. The account comes from WithAccount, else AWS_ACCOUNT_ID, else the
// account field of CODEBUILD_BUILD_ARN, else STS GetCallerIdentity; the region
// from WithRegion, else the SDK's default chain.
func ResolveTarget(ctx context.Context, opts ...Option) (Target, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return Target{}, err
	}
	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return Target{}, err
	}
	if o.api == nil {
		o.api = newAPI(cfg)
	}
	return resolveTarget(ctx, o, cfg)
}

func resolveTarget(ctx context.Context, o *Options, cfg aws.Config) (Target, error) {
	t := Target{Region: cfg.Region}
	if t.Region == "" {
		return Target{}, ErrNoRegion
	}
	var err error
	t.Account, t.AccountFrom, err = resolveAccount(ctx, o)
	if err != nil {
		return Target{}, err
	}
	t.Registry = registryHost(t.Account, t.Region)
	return t, nil
}

func resolveAccount(ctx context.Context, o *Options) (id, from string, err error) {
	check := func(id, from string) (string, string, error) {
		if !accountID.MatchString(id) {
			return "", "", fmt.Errorf("account %q from %s: want 12 digits", id, from)
		}
		return id, from, nil
	}
	if o.Account != "" {
		return check(o.Account, "option")
	}
	if v := strings.TrimSpace(o.getenv("AWS_ACCOUNT_ID")); v != "" {
		return check(v, "AWS_ACCOUNT_ID")
	}
	// arn:aws:codebuild:us-east-1:123456789012:build/project:build-id
	if arn := o.getenv("CODEBUILD_BUILD_ARN"); arn != "" {
		if f := strings.SplitN(arn, ":", 6); len(f) == 6 && f[0] == "arn" && f[4] != "" {
			return check(f[4], "CODEBUILD_BUILD_ARN")
		}
		return "", "", fmt.Errorf("reading account from CODEBUILD_BUILD_ARN %q: not an ARN", arn)
	}
	out, err := o.api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("sts GetCallerIdentity: %w", err)
	}
	return check(aws.ToString(out.Account), "sts")
}

// registryHost is the ECR registry host of an account in a region.
func registryHost(account, region string) string { return registry.ECRHost(account, region) }
