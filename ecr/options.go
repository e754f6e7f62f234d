package ecr

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"ecrbase/internal/registry"
)

// Option configures Mirror and ResolveTarget.
type Option func(*Options)

// Options holds every setting; the With functions below fill it in, and
// makeOptions applies the defaults.
type Options struct {
	// Target.
	Account   string      // else AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN, STS
	Region    string      // else the SDK's default chain
	AWSConfig *aws.Config // else config.LoadDefaultConfig

	// What to copy.
	Platforms []string // subset of an index, e.g. linux/amd64; empty copies all
	NoUpdate  bool     // keep what ECR has when the upstream tag moved
	DryRun    bool     // plan only: HEAD requests, no writes, no counted pulls

	// How to copy.
	Jobs     int // images in parallel (default 4)
	BlobJobs int // blobs in parallel within an image (default 4)
	HeadJobs int // images checked in parallel before copying (default 64)
	// NoBatchCheck checks every ECR tag with a registry HEAD instead of
	// asking the ECR API (BatchGetImage) for up to 100 tags at once.
	NoBatchCheck bool
	// NoSharedTokens logs in to the source once per repository for the
	// checks instead of fetching one token for up to 50 repositories of a
	// registry.
	NoSharedTokens bool

	// Sources.
	Mirrors  map[string]string // registry (docker.io) -> base URL to read it through
	Insecure []string          // hosts that may be read over plain HTTP
	Keychain authn.Keychain    // source credentials (default: DOCKERHUB_* and the Docker config)
	Wait     bool              // wait out 429 TOOMANYREQUESTS instead of failing
	MaxWait  time.Duration     // with Wait, longest total wait on 429s per image (default 10m)

	// Timeout is the longest a registry or the AWS API may stay silent
	// (connecting, answering, or in the middle of a body) before the
	// request is abandoned and retried (default 30s).
	Timeout time.Duration

	// Content sources and referrers (content.go, referrers.go).
	ContentSources   map[string][]string // registry -> base URLs holding its images by digest; nil: defaults
	NoContentSources bool                // read everything from the registries themselves
	ContentTimeout   time.Duration       // per content source request (default 10s)
	NoReferrers      bool                // do not copy signatures, attestations and other referrers

	// Repositories created in ECR.
	ScanOnPush      bool              // default true
	TagMutability   string            // MUTABLE or IMMUTABLE; empty is ECR's default
	KMSKey          string            // KMS key ARN or alias; empty is AES256
	RepositoryTags  map[string]string // tags for created repositories
	LifecyclePolicy string            // policy text applied with PutLifecyclePolicy

	// Scan gate.
	ScanWait    bool          // wait for scan results of the images pushed
	ScanTimeout time.Duration // default 20m
	FailOn      string        // INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL

	// Output; all silent by default.
	Progress io.Writer    // one plain line per event
	Logger   *slog.Logger // one record per event
	OnEvent  func(Event)  // called for every event, from several goroutines

	// RegistryEndpoint sends registry traffic for the ECR host to this base
	// URL (for example http://127.0.0.1:5000) instead of the host in the
	// token's proxyEndpoint. Image names in the report keep the ECR host.
	RegistryEndpoint string

	// Unexported knobs for tests.
	api          api
	getenv       func(string) string
	backoff      remote.Backoff
	waitStep     time.Duration // first wait on a 429 without Retry-After
	noWaitLimit  time.Duration // without Wait, longest total wait on 429s per image
	scanPoll     time.Duration
	scanStart    time.Duration // start a scan when none shows up for this long
	tokenMinLife time.Duration // lifetime assumed for tokens that claim to be expired
	raceWait     time.Duration // longest wait for another run copying into a repository it just created
	racePoll     time.Duration
}

// The defaults of the options a user is most likely to change, which the
// command line's help shows.
const (
	// DefaultJobs is how many images are copied at once.
	DefaultJobs = 4
	// DefaultHeadJobs is how many images are checked at once. Checks are
	// HEAD requests (free on Docker Hub) and ECR API reads; over a
	// wide-area link their cost is round trips, not bandwidth, so many run
	// together.
	DefaultHeadJobs = 64
	// DefaultMaxWait bounds WithWait: Docker Hub's window is six hours, and
	// a build should fail rather than sit for that long.
	DefaultMaxWait = 10 * time.Minute
	// DefaultTimeout is how long a registry or the AWS API may stay silent:
	// long enough for a slow registry, short enough that a hung one does
	// not hold a build until the build's own timeout.
	DefaultTimeout = 30 * time.Second
)

func makeOptions(opts ...Option) (*Options, error) {
	o := &Options{
		ScanOnPush:  true,
		Jobs:        DefaultJobs,
		BlobJobs:    4,
		HeadJobs:    DefaultHeadJobs,
		MaxWait:     DefaultMaxWait,
		ScanTimeout: 20 * time.Minute,
		getenv:      os.Getenv,
		// Bounded exponential backoff with jitter for 5xx answers and dropped
		// connections: about 0.5s, 1s, 2s, 4s between five attempts.
		backoff:      remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: 5, Cap: 8 * time.Second},
		waitStep:     15 * time.Second,
		noWaitLimit:  30 * time.Second,
		Timeout:      DefaultTimeout,
		scanPoll:     5 * time.Second,
		scanStart:    time.Minute,
		tokenMinLife: time.Hour,
		raceWait:     time.Minute,
		racePoll:     2 * time.Second,
	}
	for _, opt := range opts {
		opt(o)
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if o.BlobJobs < 1 {
		o.BlobJobs = 1
	}
	if o.HeadJobs < 1 {
		o.HeadJobs = 1
	}
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("timeout %s: want a positive duration", o.Timeout)
	}
	if o.TagMutability != "" {
		var err error
		if o.TagMutability, err = registry.TagMutability(o.TagMutability); err != nil {
			return nil, fmt.Errorf("tag mutability %w", err)
		}
	}
	// A policy ECR would refuse is refused here, before any repository is
	// created.
	if o.LifecyclePolicy != "" {
		if err := registry.CheckLifecyclePolicy([]byte(o.LifecyclePolicy)); err != nil {
			return nil, fmt.Errorf("lifecycle policy: %w", err)
		}
	}
	if o.FailOn != "" {
		o.FailOn = strings.ToUpper(o.FailOn)
		if severityRank(o.FailOn) == 0 {
			last := len(severities) - 1
			return nil, fmt.Errorf("fail-on severity %q: want %s or %s", o.FailOn, strings.Join(severities[:last], ", "), severities[last])
		}
	}
	for _, p := range o.Platforms {
		if _, err := parsePlatform(p); err != nil {
			return nil, err
		}
	}
	if _, err := parseMirrors(o.Mirrors, o.Insecure); err != nil {
		return nil, err
	}
	if err := checkContentSources(o); err != nil {
		return nil, err
	}
	if o.RegistryEndpoint != "" {
		if u, err := url.Parse(o.RegistryEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("registry endpoint %q: want http(s)://host[:port]", o.RegistryEndpoint)
		}
	}
	return o, nil
}

// CheckOptions reports the first option Mirror would refuse, without
// touching AWS or any registry, so that a command can check its settings
// before any work starts.
func CheckOptions(opts ...Option) error {
	_, err := makeOptions(opts...)
	return err
}

// WithAccount sets the target AWS account ID.
func WithAccount(id string) Option { return func(o *Options) { o.Account = id } }

// WithRegion sets the target AWS region.
func WithRegion(region string) Option { return func(o *Options) { o.Region = region } }

// WithAWSConfig uses cfg instead of loading the SDK's default configuration.
func WithAWSConfig(cfg aws.Config) Option { return func(o *Options) { o.AWSConfig = &cfg } }

// WithPlatforms copies only these platforms (os/arch[/variant]) of an index
// into a new index, whose digest differs from the source's.
func WithPlatforms(platforms ...string) Option {
	return func(o *Options) { o.Platforms = append(o.Platforms, platforms...) }
}

// WithNoUpdate keeps the image ECR has when the upstream tag has moved.
func WithNoUpdate(v bool) Option { return func(o *Options) { o.NoUpdate = v } }

// WithDryRun plans without writing anything or spending counted pulls.
func WithDryRun(v bool) Option { return func(o *Options) { o.DryRun = v } }

// WithJobs sets how many images are mirrored in parallel.
func WithJobs(n int) Option { return func(o *Options) { o.Jobs = n } }

// WithHeadJobs sets how many images are checked (source and ECR HEADs) in
// parallel before any copy, apart from WithJobs.
func WithHeadJobs(n int) Option { return func(o *Options) { o.HeadJobs = n } }

// WithBatchCheck asks the ECR API (BatchGetImage) for up to 100 tags of a
// repository at once before HEADing them one by one (default true).
func WithBatchCheck(v bool) Option { return func(o *Options) { o.NoBatchCheck = !v } }

// WithSharedTokens turns on or off (default on) checking the source images
// of many repositories of one registry with one bearer token.
func WithSharedTokens(v bool) Option { return func(o *Options) { o.NoSharedTokens = !v } }

// WithRegistryMirror reads registry (for example docker.io) through the
// registry at baseURL (for example https://artifactory.example.com/docker-remote).
// Repository names in ECR still follow the canonical reference.
func WithRegistryMirror(registry, baseURL string) Option {
	return func(o *Options) {
		if o.Mirrors == nil {
			o.Mirrors = map[string]string{}
		}
		o.Mirrors[registry] = baseURL
	}
}

// WithInsecureRegistry allows plain HTTP to host, which is otherwise
// allowed only for loopback hosts.
func WithInsecureRegistry(hosts ...string) Option {
	return func(o *Options) { o.Insecure = append(o.Insecure, hosts...) }
}

// WithKeychain sets where source registry credentials come from.
func WithKeychain(k authn.Keychain) Option { return func(o *Options) { o.Keychain = k } }

// WithWait waits out a used-up pull window instead of failing.
func WithWait(v bool) Option { return func(o *Options) { o.Wait = v } }

// WithMaxWait bounds WithWait and Retry-After waits.
func WithMaxWait(d time.Duration) Option { return func(o *Options) { o.MaxWait = d } }

// WithTimeout sets how long a registry or the AWS API may stay silent
// before a request is abandoned and retried.
func WithTimeout(d time.Duration) Option { return func(o *Options) { o.Timeout = d } }

// WithScanOnPush sets scan-on-push for repositories the mirror creates.
func WithScanOnPush(v bool) Option { return func(o *Options) { o.ScanOnPush = v } }

// WithTagMutability sets MUTABLE or IMMUTABLE tags for created repositories.
func WithTagMutability(m string) Option { return func(o *Options) { o.TagMutability = m } }

// WithKMSKey encrypts created repositories with this KMS key instead of AES256.
func WithKMSKey(arn string) Option { return func(o *Options) { o.KMSKey = arn } }

// WithRepositoryTag tags created repositories with key=value.
func WithRepositoryTag(key, value string) Option {
	return func(o *Options) {
		if o.RepositoryTags == nil {
			o.RepositoryTags = map[string]string{}
		}
		o.RepositoryTags[key] = value
	}
}

// WithLifecyclePolicy applies this lifecycle policy text to every repository
// the mirror writes to.
func WithLifecyclePolicy(policy string) Option {
	return func(o *Options) { o.LifecyclePolicy = policy }
}

// WithScanWait waits for the scan results of the images pushed.
func WithScanWait(v bool) Option { return func(o *Options) { o.ScanWait = v } }

// WithScanTimeout bounds WithScanWait.
func WithScanTimeout(d time.Duration) Option { return func(o *Options) { o.ScanTimeout = d } }

// WithFailOn fails an image whose scan has findings at or above severity.
// It implies WithScanWait.
func WithFailOn(severity string) Option {
	return func(o *Options) {
		o.FailOn = severity
		if severity != "" {
			o.ScanWait = true
		}
	}
}

// WithProgress writes one plain line per event to w.
func WithProgress(w io.Writer) Option { return func(o *Options) { o.Progress = w } }

// WithLogger logs one record per event to l.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithEvents calls f for every event; f must be safe for concurrent use.
func WithEvents(f func(Event)) Option { return func(o *Options) { o.OnEvent = f } }

// WithRegistryEndpoint sends ECR registry traffic to baseURL instead of the
// host named by the authorization token's proxyEndpoint.
func WithRegistryEndpoint(baseURL string) Option {
	return func(o *Options) { o.RegistryEndpoint = baseURL }
}
