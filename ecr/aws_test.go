package ecr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestRepositorySettings(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	h.push(t, "settings:1", randomImage(t, 512, 1))
	const policy = `{"rules":[{"rulePriority":1,"description":"expire untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`
	const key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
	custom, plain := uniqueRepo(t)+"-custom", uniqueRepo(t)+"-plain"
	src := "docker.io/library/settings:1"

	mustMirror(t, []Image{{Source: src, Repository: custom}}, append(testOptions(t, target, h, nil),
		WithTagMutability("immutable"), WithKMSKey(key), WithRepositoryTag("team", "platform"),
		WithRepositoryTag("cost-center", "42"), WithLifecyclePolicy(policy))...)
	mustMirror(t, []Image{{Source: src, Repository: plain}}, append(testOptions(t, target, h, nil), WithScanOnPush(false))...)

	c := awsecr.NewFromConfig(motoConfig(t))
	ctx := context.Background()
	out, err := c.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{custom, plain}})
	if err != nil {
		t.Fatal(err)
	}
	repos := map[string]ecrtypes.Repository{}
	for _, r := range out.Repositories {
		repos[aws.ToString(r.RepositoryName)] = r
	}
	cr, pr := repos[custom], repos[plain]
	if !cr.ImageScanningConfiguration.ScanOnPush || cr.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable ||
		cr.EncryptionConfiguration.EncryptionType != ecrtypes.EncryptionTypeKms || aws.ToString(cr.EncryptionConfiguration.KmsKey) != key {
		t.Errorf("custom repository = scan %t, mutability %s, encryption %s %s; want scan, IMMUTABLE, KMS %s",
			cr.ImageScanningConfiguration.ScanOnPush, cr.ImageTagMutability, cr.EncryptionConfiguration.EncryptionType,
			aws.ToString(cr.EncryptionConfiguration.KmsKey), key)
	}
	if pr.ImageScanningConfiguration.ScanOnPush || pr.EncryptionConfiguration.EncryptionType != ecrtypes.EncryptionTypeAes256 {
		t.Errorf("plain repository = scan %t, encryption %s; want no scan, AES256", pr.ImageScanningConfiguration.ScanOnPush, pr.EncryptionConfiguration.EncryptionType)
	}
	tags, err := c.ListTagsForResource(ctx, &awsecr.ListTagsForResourceInput{ResourceArn: cr.RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range tags.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if got["team"] != "platform" || got["cost-center"] != "42" {
		t.Errorf("repository tags = %v, want team=platform cost-center=42", got)
	}
	lp, err := c.GetLifecyclePolicy(ctx, &awsecr.GetLifecyclePolicyInput{RepositoryName: aws.String(custom)})
	if err != nil {
		t.Fatalf("GetLifecyclePolicy: %v", err)
	}
	if aws.ToString(lp.LifecyclePolicyText) != policy {
		t.Errorf("lifecycle policy = %s, want %s", aws.ToString(lp.LifecyclePolicyText), policy)
	}

	// An existing repository is fine (RepositoryAlreadyExistsException).
	h.push(t, "settings:2", randomImage(t, 512, 1))
	mustMirror(t, []Image{{Source: "docker.io/library/settings:2", Repository: custom}}, testOptions(t, target, h, nil)...)
}

func TestScanGate(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	c := awsecr.NewFromConfig(motoConfig(t))
	ctx := context.Background()

	// moto keeps its own image list: register the image there as ECR would
	// on push, so that its static scan result (one HIGH finding) applies.
	register := func(repo, tag string) {
		digest := h.push(t, "scanned:"+tag, randomImage(t, 512, 1))
		if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			t.Fatal(err)
		}
		raw := rawManifestOf(t, h.upstream+"/library/scanned:"+tag)
		if _, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(string(raw)),
			ImageTag: aws.String(tag), ImageDigest: aws.String(digest)}); err != nil {
			t.Fatal(err)
		}
	}
	// The image is now in moto's list but not in the stand-in registry, which
	// real ECR never shows: check the registry with HEADs only.
	noBatch := WithBatchCheck(false)
	high, critical := uniqueRepo(t)+"-high", uniqueRepo(t)+"-critical"
	register(high, "1")
	register(critical, "2")

	rep, err := Mirror(ctx, []Image{{Source: "docker.io/library/scanned:1", Repository: high}}, append(testOptions(t, target, h, nil), WithFailOn("high"), noBatch)...)
	if !errors.Is(err, ErrScanFindings) {
		t.Fatalf("Mirror(fail-on HIGH) error = %v, want %v", err, ErrScanFindings)
	}
	if s := rep.Images[0].Scan; s == nil || !s.Failed || s.Findings["HIGH"] != 1 || s.Status != "COMPLETE" {
		t.Errorf("scan = %+v, want COMPLETE with 1 HIGH, failed", s)
	}
	if d := head(t, target, high+":1"); d == "" || d != rep.Images[0].Digest || rep.Images[0].Action != Copy {
		t.Errorf("ECR has %q, report digest %q action %s; want the pushed image reported as copied (the gate runs after the push)", d, rep.Images[0].Digest, rep.Images[0].Action)
	}

	rep, err = Mirror(ctx, []Image{{Source: "docker.io/library/scanned:2", Repository: critical}}, append(testOptions(t, target, h, nil), WithFailOn("CRITICAL"), noBatch)...)
	if err != nil {
		t.Fatalf("Mirror(fail-on CRITICAL) error = %v", err)
	}
	if s := rep.Images[0].Scan; s == nil || s.Failed || s.Findings["HIGH"] != 1 {
		t.Errorf("scan = %+v, want 1 HIGH, not failed", s)
	}

	// Without FailOn a missing scan is a warning, not a failure.
	h.push(t, "unscanned:1", randomImage(t, 512, 1))
	rep, err = Mirror(ctx, []Image{{Source: "docker.io/library/unscanned:1", Repository: uniqueRepo(t) + "-none"}},
		append(testOptions(t, target, h, nil), WithScanWait(true), WithScanTimeout(2*time.Second))...)
	if err != nil || len(rep.Images[0].Warnings) == 0 || !strings.Contains(rep.Images[0].Warnings[0], ErrScan.Error()) {
		t.Errorf("scan wait on an image without results = %v, warnings %q; want success with a warning", err, rep.Images[0].Warnings)
	}
}

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	cfg := motoConfig(t)
	for _, tc := range []struct {
		name     string
		opts     []Option
		env      env
		want     Target
		wantErr  bool
		noRegion bool
	}{
		{name: "option", opts: []Option{WithAccount("111111111111"), WithRegion("eu-west-1")}, env: env{"AWS_ACCOUNT_ID": "222222222222"},
			want: Target{Account: "111111111111", Region: "eu-west-1", Registry: "111111111111.dkr.ecr.eu-west-1.amazonaws.com", AccountFrom: "option"}},
		{name: "env", env: env{"AWS_ACCOUNT_ID": "222222222222", "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:us-east-1:333333333333:build/p:1"},
			want: Target{Account: "222222222222", Region: "us-east-1", Registry: "222222222222.dkr.ecr.us-east-1.amazonaws.com", AccountFrom: "AWS_ACCOUNT_ID"}},
		{name: "codebuild", env: env{"CODEBUILD_BUILD_ARN": "arn:aws:codebuild:us-east-1:333333333333:build/proj:0c1e-44"},
			want: Target{Account: "333333333333", Region: "us-east-1", Registry: "333333333333.dkr.ecr.us-east-1.amazonaws.com", AccountFrom: "CODEBUILD_BUILD_ARN"}},
		{name: "sts", want: Target{Account: motoAccount, Region: "us-east-1", Registry: motoAccount + ".dkr.ecr.us-east-1.amazonaws.com", AccountFrom: "sts"}},
		{name: "china", opts: []Option{WithAccount("111111111111"), WithRegion("cn-north-1")},
			want: Target{Account: "111111111111", Region: "cn-north-1", Registry: "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn", AccountFrom: "option"}},
		{name: "bad env account", env: env{"AWS_ACCOUNT_ID": "12345"}, wantErr: true},
		{name: "bad arn", env: env{"CODEBUILD_BUILD_ARN": "nope"}, wantErr: true},
		{name: "no region", noRegion: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			if tc.noRegion {
				c.Region = ""
			}
			e := tc.env
			if e == nil {
				e = env{}
			}
			opts := append([]Option{WithAWSConfig(c), func(o *Options) { o.getenv = e.get }}, tc.opts...)
			got, err := ResolveTarget(context.Background(), opts...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ResolveTarget() error = %v, want error %t", err, tc.wantErr)
			}
			if tc.noRegion && !errors.Is(err, ErrNoRegion) {
				t.Errorf("ResolveTarget() error = %v, want %v", err, ErrNoRegion)
			}
			if got != tc.want {
				t.Errorf("ResolveTarget() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fakeAPI hands out tokens and counts the calls; nothing else is used.
type fakeAPI struct {
	api
	mu      sync.Mutex
	calls   int
	expires time.Time
}

func (f *fakeAPI) GetAuthorizationToken(ctx context.Context, in *awsecr.GetAuthorizationTokenInput, _ ...func(*awsecr.Options)) (*awsecr.GetAuthorizationTokenOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	tok := []string{"QVdTOnRva2VuLTE=", "QVdTOnRva2VuLTI=", "QVdTOnRva2VuLTM="}[min(f.calls-1, 2)] // AWS:token-N
	exp := f.expires
	return &awsecr.GetAuthorizationTokenOutput{AuthorizationData: []ecrtypes.AuthorizationData{{
		AuthorizationToken: aws.String(tok), ExpiresAt: &exp, ProxyEndpoint: aws.String("https://999999999999.dkr.ecr.us-east-1.amazonaws.com"),
	}}}, nil
}

func (f *fakeAPI) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return nil, errors.New("not used")
}

func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &fakeAPI{expires: now.Add(12 * time.Hour)}
	red := &redactor{}
	a := &ecrAuth{api: f, red: red, minLife: time.Hour, now: func() time.Time { return now }}

	host, err := a.login(context.Background())
	if err != nil || host != "999999999999.dkr.ecr.us-east-1.amazonaws.com" {
		t.Fatalf("login() = %q, %v", host, err)
	}
	for _, step := range []struct {
		advance   time.Duration
		wantCalls int
		wantPass  string
	}{
		{time.Hour, 1, "token-1"},
		{10 * time.Hour, 1, "token-1"},   // 11:00, an hour left
		{46 * time.Minute, 2, "token-2"}, // 11:46, within 15 minutes of expiry
		// The fake's new token expires at 12:00 as well, which is too close:
		// it is used for minLife (an hour) instead of fetched on every request.
		{time.Minute, 2, "token-2"},
		{time.Hour, 3, "token-3"},
		{time.Minute, 3, "token-3"},
	} {
		now = now.Add(step.advance)
		ac, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if f.calls != step.wantCalls || ac.Password != step.wantPass || ac.Username != "AWS" {
			t.Errorf("at %s: %d token calls, credentials %s:%s; want %d calls, AWS:%s", now.Format(time.TimeOnly), f.calls, ac.Username, ac.Password, step.wantCalls, step.wantPass)
		}
	}
	if got := red.String("x token-1 QVdTOnRva2VuLTI= y"); got != "x [redacted] [redacted] y" {
		t.Errorf("redactor = %q, want every token seen redacted", got)
	}
}
