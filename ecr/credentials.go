package ecr

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ErrNoCredentials means the AWS SDK's credential chain gave no
// credentials: none in the environment, the shared files, SSO, web
// identity, or a container or instance role. Every AWS call fails with it,
// wrapped in the SDK's own chain of messages; callers test for it with
// errors.Is and can print one line of advice instead.
var ErrNoCredentials = errors.New("no AWS credentials")

// checkedCredentials marks a failure to retrieve credentials as
// ErrNoCredentials, whichever AWS call it happens in.
type checkedCredentials struct{ aws.CredentialsProvider }

func (c checkedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return creds, fmt.Errorf("%w: %w", ErrNoCredentials, err)
	}
	return creds, nil
}

// checkCredentials wraps the configuration's credential provider so that
// its failures are ErrNoCredentials.
func checkCredentials(cfg aws.Config) aws.Config {
	if cfg.Credentials != nil {
		if _, done := cfg.Credentials.(checkedCredentials); !done {
			cfg.Credentials = checkedCredentials{cfg.Credentials}
		}
	}
	return cfg
}
