package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Destination is a registry that ECR replicates into: a region, and an
// account (empty: the source registry's own account).
type Destination struct {
	Region  string `json:"region"`
	Account string `json:"account"`
}

func (d Destination) String() string {
	if d.Account == "" {
		return d.Region
	}
	return d.Region + ":" + d.Account
}

var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ParseDestination reads REGION or REGION:ACCOUNT, as in eu-west-1 or
// us-west-2:210987654321.
func ParseDestination(s string) (Destination, error) {
	region, account, _ := strings.Cut(strings.TrimSpace(s), ":")
	if !regionName.MatchString(region) {
		return Destination{}, fmt.Errorf("replication destination %q: %q is not an AWS region", s, region)
	}
	if account != "" && !accountID.MatchString(account) {
		return Destination{}, fmt.Errorf("replication destination %q: account %q: want 12 digits", s, account)
	}
	return Destination{Region: region, Account: account}, nil
}

// ECR's limits on a registry's replication configuration.
const (
	maxReplicationRules   = 10
	maxRuleFilters        = 100
	maxUniqueDestinations = 25
)

// ReplicationResult is what ConfigureReplication found and set.
type ReplicationResult struct {
	Registry string `json:"registry"` // the source registry's account
	Region   string `json:"region"`
	// Filters are the PREFIX_MATCH repository filters of ecrbase's rule.
	Filters []string `json:"filters"`
	// Destinations are the ones asked for, accounts filled in.
	Destinations []Destination `json:"destinations"`
	// Before and After are the registry's rules; After equals Before when
	// nothing had to change.
	Before  []types.ReplicationRule `json:"rules_before"`
	After   []types.ReplicationRule `json:"rules_after"`
	Changed bool                    `json:"changed"`
	DryRun  bool                    `json:"dry_run"`
}

// ConfigureReplication makes the registry replicate the repositories under
// prefixes (PREFIX_MATCH filters, such as "docker-hub/") to every
// destination. It reads the configuration first (DescribeRegistry) and
// merges: rules of others are kept as they are, a destination some rule
// already replicates those repositories to is left alone, and the others are
// added to ecrbase's rule (the one whose filters are exactly these), created
// when missing. Nothing is written when nothing is missing, or in a dry run.
//
// ECR replicates only pushes made after the rule exists; Backfill copies
// what is already there.
func ConfigureReplication(ctx context.Context, prefixes []string, dests []Destination, opts ...Option) (*ReplicationResult, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if len(dests) == 0 {
		return nil, errors.New("replication: no destination")
	}
	filters, err := replicationFilters(prefixes)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.api == nil {
		o.api = newAPI(cfg)
	}
	t, err := resolveTarget(ctx, o, cfg)
	if err != nil {
		return nil, err
	}
	res := &ReplicationResult{Registry: t.Account, Region: t.Region, Filters: filters, DryRun: o.DryRun}
	for _, d := range dests {
		if d.Account == "" {
			d.Account = t.Account
		}
		if d.Region == t.Region && d.Account == t.Account {
			return nil, fmt.Errorf("replication destination %s is the source registry itself", d)
		}
		if !slices.Contains(res.Destinations, d) {
			res.Destinations = append(res.Destinations, d)
		}
	}
	out, err := o.api.DescribeRegistry(ctx, &awsecr.DescribeRegistryInput{})
	if err != nil {
		return nil, fmt.Errorf("ecr DescribeRegistry: %w", err)
	}
	if out.ReplicationConfiguration != nil {
		res.Before = out.ReplicationConfiguration.Rules
	}
	res.After, res.Changed, err = mergeReplication(res.Before, filters, res.Destinations)
	if err != nil {
		return nil, err
	}
	if !res.Changed || o.DryRun {
		return res, nil
	}
	_, err = o.api.PutReplicationConfiguration(ctx, &awsecr.PutReplicationConfigurationInput{
		ReplicationConfiguration: &types.ReplicationConfiguration{Rules: res.After},
	})
	if err != nil {
		return nil, fmt.Errorf("ecr PutReplicationConfiguration: %w", err)
	}
	return res, nil
}

// replicationFilters turns repository prefixes into sorted, unique filter
// values that end with "/", so docker-hub/ does not also match docker-hub-x.
func replicationFilters(prefixes []string) ([]string, error) {
	var out []string
	for _, p := range prefixes {
		p = strings.Trim(p, "/")
		if p == "" {
			continue
		}
		p += "/"
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("replication: no repository prefix to filter on")
	}
	if len(out) > maxRuleFilters {
		return nil, fmt.Errorf("replication: %d repository prefixes, ECR allows %d filters in a rule", len(out), maxRuleFilters)
	}
	slices.Sort(out)
	return out, nil
}

// mergeReplication returns rules with every (filter, destination) pair
// replicated, and whether that needed a change.
func mergeReplication(rules []types.ReplicationRule, filters []string, dests []Destination) ([]types.ReplicationRule, bool, error) {
	covered := func(filter string, d Destination) bool {
		for _, r := range rules {
			if !hasDestination(r, d) {
				continue
			}
			if len(r.RepositoryFilters) == 0 {
				return true // a rule without filters replicates every repository
			}
			for _, f := range r.RepositoryFilters {
				if f.FilterType == types.RepositoryFilterTypePrefixMatch && strings.HasPrefix(filter, aws.ToString(f.Filter)) {
					return true
				}
			}
		}
		return false
	}
	var missing []Destination
	for _, d := range dests {
		for _, f := range filters {
			if !covered(f, d) {
				missing = append(missing, d)
				break
			}
		}
	}
	if len(missing) == 0 {
		return rules, false, nil
	}
	after := make([]types.ReplicationRule, len(rules))
	copy(after, rules)
	own := slices.IndexFunc(after, func(r types.ReplicationRule) bool { return sameFilters(r, filters) })
	if own < 0 {
		if len(after) == maxReplicationRules {
			return nil, false, fmt.Errorf("replication: the registry has %d rules already, ECR's maximum; add %s to one by hand", len(after), destinationList(missing))
		}
		r := types.ReplicationRule{}
		for _, f := range filters {
			r.RepositoryFilters = append(r.RepositoryFilters, types.RepositoryFilter{Filter: aws.String(f), FilterType: types.RepositoryFilterTypePrefixMatch})
		}
		after = append(after, r)
		own = len(after) - 1
	}
	r := after[own]
	r.Destinations = slices.Clone(r.Destinations)
	for _, d := range missing {
		if !hasDestination(r, d) {
			r.Destinations = append(r.Destinations, types.ReplicationDestination{Region: aws.String(d.Region), RegistryId: aws.String(d.Account)})
		}
	}
	after[own] = r
	unique := map[Destination]bool{}
	for _, r := range after {
		for _, d := range r.Destinations {
			unique[Destination{Region: aws.ToString(d.Region), Account: aws.ToString(d.RegistryId)}] = true
		}
	}
	if len(unique) > maxUniqueDestinations {
		return nil, false, fmt.Errorf("replication: %d destinations in all, ECR allows %d", len(unique), maxUniqueDestinations)
	}
	return after, true, nil
}

func hasDestination(r types.ReplicationRule, d Destination) bool {
	return slices.ContainsFunc(r.Destinations, func(x types.ReplicationDestination) bool {
		return aws.ToString(x.Region) == d.Region && aws.ToString(x.RegistryId) == d.Account
	})
}

func sameFilters(r types.ReplicationRule, filters []string) bool {
	if len(r.RepositoryFilters) != len(filters) {
		return false
	}
	var got []string
	for _, f := range r.RepositoryFilters {
		if f.FilterType != types.RepositoryFilterTypePrefixMatch {
			return false
		}
		got = append(got, aws.ToString(f.Filter))
	}
	slices.Sort(got)
	return slices.Equal(got, filters)
}

func destinationList(ds []Destination) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

// Backfill copies images already mirrored into this registry's ECR (the
// account and region the options name) into dest, registry to registry:
// manifests byte for byte, so digests match; blobs the destination has are
// skipped; repositories are created with the same settings as Mirror's. It
// is what ECR replication does not do: replicate what was pushed before the
// rule existed. Each image is read from ECR by its repository and the tag
// or digest of its source reference. The report is Mirror's, with the
// destination as target.
func Backfill(ctx context.Context, images []Image, dest Destination, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, ErrNoRegion
	}
	srcAPI := o.api
	if srcAPI == nil {
		srcAPI = newAPI(cfg)
	}
	account := ""
	if o.Account != "" || o.getenv("AWS_ACCOUNT_ID") != "" || o.getenv("CODEBUILD_BUILD_ARN") != "" {
		if account, _, err = resolveAccount(ctx, o); err != nil {
			return nil, err
		}
	}
	srcAuth := &ecrAuth{api: srcAPI, account: account, red: &redactor{}, minLife: o.tokenMinLife, now: time.Now}
	host, err := srcAuth.login(ctx)
	if err != nil {
		return nil, err
	}
	if dest.Account == "" {
		dest.Account, _, _ = strings.Cut(host, ".")
	}
	if dest.Region == cfg.Region && strings.HasPrefix(host, dest.Account+".") {
		return nil, fmt.Errorf("backfill destination %s is the source registry itself", dest)
	}
	from := make([]Image, 0, len(images))
	for _, img := range images {
		s, err := parseSource(img.Source, nil, nil)
		if err != nil {
			return nil, err
		}
		ref := host + "/" + img.Repository
		if s.tag != "" {
			ref += ":" + s.tag
		}
		if s.digest != "" {
			ref += "@" + s.digest
		}
		from = append(from, Image{Source: ref, Repository: img.Repository})
	}
	// Reads go to the source registry with its own token, whatever mirror
	// of it the options name; the destination gets its own login.
	keychain := ecrKeychain{auth: srcAuth, host: host, mirror: o.Mirrors[host]}
	mopts := append(slices.Clone(opts),
		WithRegion(dest.Region), WithAccount(dest.Account), WithKeychain(keychain),
		func(o *Options) { o.api, o.Platforms = nil, nil },
	)
	if o.AWSConfig == nil {
		mopts = append(mopts, WithAWSConfig(cfg))
	}
	return Mirror(ctx, from, mopts...)
}

// ecrKeychain answers the source ECR registry (or its configured mirror)
// with the ECR token, and nothing else.
type ecrKeychain struct {
	auth   *ecrAuth
	host   string
	mirror string
}

func (k ecrKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	reg := r.RegistryStr()
	if reg == k.host || (k.mirror != "" && strings.Contains(k.mirror, "//"+reg)) {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}
