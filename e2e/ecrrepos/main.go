// Command ecrrepos lists the ECR repositories of the configured account as a
// JSON array, so the end-to-end suite (scripts/e2e.sh) can check what
// ecrbase created through the ECR API rather than through ecrbase itself.
//
// Region, credentials and endpoint come from the AWS SDK's default chain,
// including AWS_ENDPOINT_URL_ECR.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
)

// repository is one line of the output.
type repository struct {
	Name           string `json:"name"`
	URI            string `json:"uri"`
	ScanOnPush     bool   `json:"scanOnPush"`
	TagMutability  string `json:"tagMutability"`
	EncryptionType string `json:"encryptionType"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "ecrrepos:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	client := awsecr.NewFromConfig(cfg)
	out := []repository{}
	p := awsecr.NewDescribeRepositoriesPaginator(client, &awsecr.DescribeRepositoriesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describing repositories: %w", err)
		}
		for _, r := range page.Repositories {
			repo := repository{
				Name:          aws.ToString(r.RepositoryName),
				URI:           aws.ToString(r.RepositoryUri),
				TagMutability: string(r.ImageTagMutability),
			}
			if r.ImageScanningConfiguration != nil {
				repo.ScanOnPush = r.ImageScanningConfiguration.ScanOnPush
			}
			if r.EncryptionConfiguration != nil {
				repo.EncryptionType = string(r.EncryptionConfiguration.EncryptionType)
			}
			out = append(out, repo)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
