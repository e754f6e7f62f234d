package ecr

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestPlanCountsReferrers: the plan counts, with free requests, the counted
// pulls signatures and attestations will cost, so a dry run's figure is
// what the copy spends; an unsigned image's figures are as before, and an
// index, whose platforms' signatures show only once it is read, is marked
// as an estimate.
func TestPlanCountsReferrers(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	h.push(t, "plain:1", randomImage(t, 1024, 1))
	signed := h.push(t, "signed:1", randomImage(t, 1024, 1))
	sh, _ := v1.NewHash(signed)
	h.push(t, "signed:sha256-"+sh.Hex+".sig", randomImage(t, 128, 1))
	h.push(t, "signed:sha256-"+sh.Hex+".att", randomImage(t, 128, 1))
	idx := multiArch(t, types.OCIImageIndex, "linux/amd64", "linux/arm64")
	top := h.push(t, "multi:1", idx)
	th, _ := v1.NewHash(top)
	h.push(t, "multi:sha256-"+th.Hex+".sig", randomImage(t, 128, 1))

	repo := uniqueRepo(t)
	images := []Image{
		{Source: "docker.io/library/plain:1", Repository: repo + "/plain"},
		{Source: "docker.io/library/signed:1", Repository: repo + "/signed"},
		{Source: "docker.io/library/multi:1", Repository: repo + "/multi"},
	}
	h.proxy.Reset()
	dry := mustMirror(t, images, append(testOptions(t, target, h, nil), WithDryRun(true))...)
	if s := h.proxy.Stats(); s.Pulls != 0 {
		t.Fatalf("dry run spent %d counted pulls", s.Pulls)
	}
	want := []struct {
		pulls    int
		estimate bool
	}{
		{1, false}, // the manifest alone, as before
		{3, false}, // the manifest, .sig and .att
		{3, true},  // the index, platforms guessed at one, .sig; platforms' signatures unknown
	}
	for i, w := range want {
		if d := dry.Images[i]; d.PullsNeeded != w.pulls || d.PullsEstimate != w.estimate {
			t.Errorf("%s: dry run pulls needed %d, estimate %v; want %d, %v", d.Source, d.PullsNeeded, d.PullsEstimate, w.pulls, w.estimate)
		}
		if d := dry.Images[i]; (d.PullsEstimateReason != "") != w.estimate {
			t.Errorf("%s: estimate %v with reason %q", d.Source, d.PullsEstimate, d.PullsEstimateReason)
		}
	}

	// The lookups of an unsigned image are made once, by the plan.
	once := []Image{{Source: "docker.io/library/plain:1", Repository: repo + "/once"}}
	h.proxy.Reset()
	mustMirror(t, once, append(testOptions(t, target, h, nil), WithDryRun(true))...)
	planned := h.proxy.Stats().Requests
	h.proxy.Reset()
	mustMirror(t, once, testOptions(t, target, h, nil)...)
	copied := h.proxy.Stats()
	if copied.Requests-copied.ManifestGets-copied.BlobGets != planned {
		t.Errorf("unsigned image: %d requests besides GETs while copying, %d while planning; want the same",
			copied.Requests-copied.ManifestGets-copied.BlobGets, planned)
	}
	if why := dry.Images[2].PullsEstimateReason; !strings.Contains(why, "platforms of a signed index") {
		t.Errorf("signed index: estimate reason %q, want the platforms' signatures named", why)
	}
	h.proxy.Reset()
	rep := mustMirror(t, images, testOptions(t, target, h, nil)...)
	for i, got := range rep.Images[:2] {
		if got.PullsNeeded != dry.Images[i].PullsNeeded || got.PullsUsed != dry.Images[i].PullsNeeded {
			t.Errorf("%s: pulls needed %d, used %d; dry run said %d", got.Source, got.PullsNeeded, got.PullsUsed, dry.Images[i].PullsNeeded)
		}
	}
	if s := h.proxy.Stats(); s.Pulls != int64(rep.PullsUsed) {
		t.Errorf("proxy counted %d pulls, report %d", s.Pulls, rep.PullsUsed)
	}

	// Warm: nothing to copy, no referrer looked for.
	h.proxy.Reset()
	rep = mustMirror(t, images, testOptions(t, target, h, nil)...)
	if s := h.proxy.Stats(); s.Pulls != 0 || s.ManifestHeads != 3 || rep.PullsNeeded != 0 {
		t.Errorf("warm run: %d pulls, %d manifest HEADs, %d needed; want 0, 3, 0", s.Pulls, s.ManifestHeads, rep.PullsNeeded)
	}
}

// TestPlanReferrersQuota: referrers the quota cannot cover do not stop
// their image; the plan says they will be skipped, and the copy skips them.
func TestPlanReferrersQuota(t *testing.T) {
	t.Parallel()
	h, target := newHub(t), newRegistry(t)
	signed := h.push(t, "signed:1", randomImage(t, 1024, 1))
	sh, _ := v1.NewHash(signed)
	h.push(t, "signed:sha256-"+sh.Hex+".sig", randomImage(t, 128, 1))
	h.proxy.SetQuota(100, 1, true)

	images := []Image{{Source: "docker.io/library/signed:1", Repository: uniqueRepo(t)}}
	for _, dryRun := range []bool{true, false} {
		rep := mustMirror(t, images, append(testOptions(t, target, h, nil), WithDryRun(dryRun))...)
		got := rep.Images[0]
		if got.PullsNeeded != 2 || got.Action != Copy || got.Error != "" {
			t.Errorf("dry run %v: pulls needed %d, action %s, error %q; want 2, copy, none", dryRun, got.PullsNeeded, got.Action, got.Error)
		}
		if len(got.Warnings) == 0 || !strings.Contains(strings.Join(got.Warnings, "\n"), "skipped") {
			t.Errorf("dry run %v: warnings %q, want one saying the signature is skipped", dryRun, got.Warnings)
		}
		if !dryRun && got.PullsUsed != 1 {
			t.Errorf("copy: %d pulls used, want 1 (the image; the signature skipped)", got.PullsUsed)
		}
	}
}
