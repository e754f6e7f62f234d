package ecr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var severities = []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Severities are the finding severities WithFailOn accepts, least first.
func Severities() []string { return slices.Clone(severities) }

// severityRank orders severities from 1 (INFORMATIONAL) to 5 (CRITICAL);
// 0 is unknown (UNDEFINED, UNTRIAGED).
func severityRank(s string) int {
	for i, v := range severities {
		if strings.EqualFold(s, v) {
			return i + 1
		}
	}
	return 0
}

// scanGate waits for the scan results of the image manifests just mirrored
// and fails the image on findings at or above FailOn.
func (r *run) scanGate(p *imageJob) error {
	ctx, cancel := context.WithTimeout(p.ctx, r.o.ScanTimeout)
	defer cancel()
	scan := &Scan{Status: "COMPLETE", Findings: map[string]int32{}}
	p.res.Scan = scan
	for _, d := range p.pushed {
		status, counts, err := r.scanResult(ctx, p.img.Repository, d)
		if err != nil {
			scan.Status = "ERROR"
			if errors.Is(err, context.DeadlineExceeded) {
				scan.Status = "TIMEOUT"
			}
			err = fmt.Errorf("%w for %s@%s: %w", ErrScan, p.img.Repository, d.Digest, err)
			if r.o.FailOn != "" {
				return err
			}
			r.warn(p, err.Error())
			return nil
		}
		if status != string(types.ScanStatusComplete) && status != string(types.ScanStatusActive) {
			scan.Status = status
			r.warn(p, fmt.Sprintf("scan of %s@%s: %s", p.img.Repository, d.Digest, status))
		}
		for k, v := range counts {
			scan.Findings[k] += v
		}
	}
	var over []string
	keys := make([]string, 0, len(scan.Findings))
	for k := range scan.Findings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if r.o.FailOn != "" && severityRank(k) >= severityRank(r.o.FailOn) && scan.Findings[k] > 0 {
			over = append(over, fmt.Sprintf("%d %s", scan.Findings[k], k))
		}
	}
	r.em.emit(Event{Image: p.img.Source, Kind: "scan", Status: scan.Status, Message: fmt.Sprintf("findings %v", scan.Findings)})
	if len(over) > 0 {
		scan.Failed = true
		return fmt.Errorf("%w %s: %s", ErrScanFindings, r.o.FailOn, strings.Join(over, ", "))
	}
	return nil
}

// scanResult polls DescribeImageScanFindings until the scan has finished.
// When no scan shows up for a while (scan-on-push off on an existing
// repository), it starts one.
func (r *run) scanResult(ctx context.Context, repo string, d v1.Descriptor) (string, map[string]int32, error) {
	id := &types.ImageIdentifier{ImageDigest: aws.String(d.Digest.String())}
	var registryID *string
	if r.auth.account != "" {
		registryID = aws.String(r.auth.account)
	}
	first, started := time.Now(), false
	for {
		out, err := r.o.api.DescribeImageScanFindings(ctx, &awsecr.DescribeImageScanFindingsInput{
			RepositoryName: aws.String(repo), ImageId: id, RegistryId: registryID})
		var notFound *types.ScanNotFoundException
		switch {
		case errors.As(err, &notFound):
			if !started && time.Since(first) >= r.o.scanStart {
				started = true
				_, err := r.o.api.StartImageScan(ctx, &awsecr.StartImageScanInput{
					RepositoryName: aws.String(repo), ImageId: id, RegistryId: registryID})
				var limit *types.LimitExceededException
				if err != nil && !errors.As(err, &limit) {
					return "", nil, fmt.Errorf("ecr StartImageScan: %w", err)
				}
			}
		case err != nil:
			return "", nil, fmt.Errorf("ecr DescribeImageScanFindings: %w", err)
		case out.ImageScanStatus != nil:
			switch st := out.ImageScanStatus.Status; st {
			case types.ScanStatusInProgress, types.ScanStatusPending:
			default:
				var counts map[string]int32
				if out.ImageScanFindings != nil {
					counts = out.ImageScanFindings.FindingSeverityCounts
				}
				return string(st), counts, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(r.o.scanPoll):
		}
	}
}
