package rewrite

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

const (
	oracleAccount = "123456789012"
	oracleRegion  = "us-west-2"
)

// recorder is a BuildKit image resolver that answers offline and records
// every image BuildKit asks for.
type recorder struct {
	mu   sync.Mutex
	refs []string
}

func (r *recorder) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.refs, ref) {
		r.refs = append(r.refs, ref)
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

// buildkitRefs runs BuildKit's own Dockerfile frontend over data, all
// stages, with no daemon, and returns the images it resolves.
func buildkitRefs(data []byte, buildArgs map[string]string) ([]string, error) {
	rec := &recorder{}
	// The capabilities of a current daemon: without them BuildKit's
	// frontend cannot convert a read-write bind mount.
	caps := pb.Caps.CapSet(pb.Caps.All())
	_, err := dockerfile2llb.Dockerfile2LLB(context.Background(), data, dockerfile2llb.ConvertOpt{
		LLBCaps:      &caps,
		Config:       dockerui.Config{BuildArgs: buildArgs},
		MetaResolver: rec,
		AllStages:    true,
	})
	slices.Sort(rec.refs)
	return rec.refs, err
}

// TestOracle checks discovery and the rewrite against BuildKit itself: the
// images ecrbase finds are the images BuildKit resolves, and after the
// rewrite BuildKit resolves exactly the ECR URIs of those images.
func TestOracle(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/Dockerfile")
	checked := 0
	for _, df := range dirs {
		dir := filepath.Dir(df)
		if why, err := os.ReadFile(filepath.Join(dir, "oracle-skip")); err == nil {
			t.Logf("%s: not compared with BuildKit: %s", dir, why)
			continue
		}
		data, err := os.ReadFile(df)
		if err != nil {
			t.Fatal(err)
		}
		if oracleCheck(t, dir, data, goldenOptions(t, dir)) {
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("only %d cases went through the oracle, want at least 20", checked)
	}
}

// oracleCheck compares ecrbase with BuildKit on one Dockerfile: the images
// found, and what BuildKit resolves after the rewrite. It reports whether
// BuildKit accepted the file, so that the comparison was made.
func oracleCheck(t *testing.T, dir string, data []byte, opts Options) bool {
	t.Helper()
	args := map[string]string{}
	for k, v := range opts.BuildArgs {
		args[k] = v
	}
	accountArg := opts.AccountArg
	if accountArg == "" {
		accountArg = "AWS_ACCOUNT_ID"
	}
	// Built the way CodeBuild builds it: account and region as build
	// arguments.
	regionArg := opts.RegionArg
	if regionArg == "" {
		regionArg = "AWS_REGION"
	}
	args[accountArg] = oracleAccount
	args[regionArg] = oracleRegion

	bkBefore, bkErr := buildkitRefs(data, args)
	opts.BuildArgs = args
	res, err := File("Dockerfile", data, opts)
	if bkErr != nil {
		// BuildKit refuses the file: ecrbase must refuse it too, or
		// report what it could not resolve.
		if err == nil && !slices.ContainsFunc(res.Refs, func(r Ref) bool { return r.Status == StatusUnresolved }) {
			t.Errorf("%s: BuildKit fails (%v) but ecrbase reports no error and nothing unresolved", dir, bkErr)
		}
		return false
	}
	if err != nil {
		t.Errorf("%s: BuildKit accepts the file, ecrbase fails: %v", dir, err)
		return false
	}
	var found, wantAfter []string
	for _, r := range res.Refs {
		if r.Reference == "" || r.Kind == KindSyntax {
			continue
		}
		found = append(found, r.Reference)
		after := r.Reference
		if r.Status == StatusRewrite {
			after = ecrReference(t, r, oracleAccount, oracleRegion, opts.Pins[r.Reference])
		}
		wantAfter = append(wantAfter, after)
	}
	found, wantAfter = uniq(found), uniq(wantAfter)
	if diff := cmp.Diff(bkBefore, found); diff != "" {
		t.Errorf("%s: images found differ from BuildKit's (-buildkit +ecrbase):\n%s", dir, diff)
	}
	bkAfter, err := buildkitRefs(res.Output, args)
	if err != nil {
		t.Errorf("%s: BuildKit refuses the rewritten file: %v\n%s", dir, err, res.Output)
		return false
	}
	if diff := cmp.Diff(wantAfter, bkAfter); diff != "" {
		t.Errorf("%s: after the rewrite BuildKit resolves (-want +buildkit):\n%s", dir, diff)
	}
	// An image named by a build argument: built with the value
	// BuildArgValue gives, BuildKit pulls it from ECR.
	translated := maps.Clone(args)
	var wantTranslated []string
	for _, r := range res.Refs {
		if r.Reference == "" || r.Kind == KindSyntax {
			continue
		}
		after := r.Reference
		if r.Status == StatusRewrite || r.BuildArg != "" {
			after = ecrReference(t, r, oracleAccount, oracleRegion, opts.Pins[r.Reference])
		}
		if r.BuildArg != "" {
			translated[r.BuildArg] = r.BuildArgValue(Host(oracleAccount, oracleRegion))
		}
		wantTranslated = append(wantTranslated, after)
	}
	if !maps.Equal(translated, args) {
		got, err := buildkitRefs(res.Output, translated)
		if err != nil {
			t.Errorf("%s: BuildKit refuses the translated build arguments %v: %v", dir, translated, err)
		} else if diff := cmp.Diff(uniq(wantTranslated), got); diff != "" {
			t.Errorf("%s: with the build arguments translated to ECR, BuildKit resolves (-want +buildkit):\n%s", dir, diff)
		}
	}
	return true
}

// ecrReference is the normalised reference BuildKit should resolve for r
// once rewritten.
func ecrReference(t *testing.T, r Ref, account, region, pin string) string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(r.Reference)
	if err != nil {
		t.Fatal(err)
	}
	s := Host(account, region) + "/" + r.Repository
	if tg, ok := named.(reference.Tagged); ok {
		s += ":" + tg.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		s += "@" + d.Digest().String()
	} else if pin != "" {
		s += "@" + pin
	}
	out, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return reference.TagNameOnly(out).String()
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
