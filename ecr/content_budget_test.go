package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestContentSourceBudget: the pull budget counts only the pulls that reach
// the counted registry. With no pull left, an index a content source holds
// whole is copied; one whose content source lacks a platform stops before
// ECR is written and before any manifest GET at the hub; with one pull
// left, that platform is read from the hub.
func TestContentSourceBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		lack      bool // the content source lacks one platform
		remaining int
		wantErr   bool
		wantPulls int64
	}{
		{"held whole, no pull left", false, 0, false, 0},
		{"one platform lacking, no pull left", true, 0, true, 0},
		{"one platform lacking, one pull left", true, 1, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, target, csUp := newHub(t), newRegistry(t), newRegistry(t)
			digest := h.push(t, "budget:1", multiArch(t, types.DockerManifestList, "linux/amd64", "linux/arm64", "linux/s390x"))
			copyImage(t, h.upstream+"/library/budget:1", csUp+"/library/budget:1")
			if tc.lack {
				var im v1.IndexManifest
				if err := json.Unmarshal(rawManifestOf(t, h.upstream+"/library/budget:1"), &im); err != nil {
					t.Fatal(err)
				}
				if err := remote.Delete(mustRef(t, csUp+"/library/budget@"+im.Manifests[1].Digest.String())); err != nil {
					t.Fatal(err)
				}
			}
			repo := uniqueRepo(t)
			h.proxy.Reset() // refills the quota: set it after
			h.proxy.SetQuota(100, tc.remaining, false)
			rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/budget:1", Repository: repo}},
				append(testOptions(t, target, h, nil), WithContentSource("docker.io", "http://"+csUp))...)
			s := h.proxy.Stats()
			if s.ManifestGets != tc.wantPulls || rep.PullsUsed != int(tc.wantPulls) {
				t.Errorf("hub manifest GETs = %d (report %d), want %d", s.ManifestGets, rep.PullsUsed, tc.wantPulls)
			}
			if tc.wantErr {
				if !errors.Is(err, ErrPullBudget) {
					t.Fatalf("Mirror error = %v, want %v", err, ErrPullBudget)
				}
				if !strings.Contains(err.Error(), "read from a content source") {
					t.Errorf("error %q, want it to say the index came from the content source", err)
				}
				if got := head(t, target, repo+":1"); got != "" {
					t.Errorf("ECR has %s:1 = %s, want nothing written", repo, got)
				}
				out, derr := awsecr.NewFromConfig(motoConfig(t)).DescribeRepositories(context.Background(),
					&awsecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
				if derr == nil {
					t.Errorf("repository %s was created: %+v", repo, out.Repositories)
				}
				return
			}
			if err != nil {
				t.Fatalf("Mirror: %v", err)
			}
			if got := head(t, target, repo+":1"); got != digest {
				t.Errorf("ECR %s:1 = %s, want %s", repo, got, digest)
			}
		})
	}
}

// TestContentSourceBudgetRefused: a content source the plan counted on
// (its HEAD holds the image) serves bytes that fail verification; with no
// pull left, the image fails with the budget error before any manifest GET
// at the hub, and nothing is created in ECR.
func TestContentSourceBudgetRefused(t *testing.T) {
	t.Parallel()
	h, target, csUp := newHub(t), newRegistry(t), newRegistry(t)
	h.push(t, "refused:1", randomImage(t, 1024, 1))
	copyImage(t, h.upstream+"/library/refused:1", csUp+"/library/refused:1")
	tp, csURL := newTamperer(t, csUp, true, false)
	repo := uniqueRepo(t)
	h.proxy.Reset()
	h.proxy.SetQuota(100, 0, false)
	rep, err := Mirror(context.Background(), []Image{{Source: "docker.io/library/refused:1", Repository: repo}},
		append(testOptions(t, target, h, nil), WithContentSource("docker.io", csURL))...)
	if !errors.Is(err, ErrPullBudget) {
		t.Fatalf("Mirror error = %v, want %v", err, ErrPullBudget)
	}
	if tp.tampered.Load() == 0 {
		t.Fatal("the content source tampered with nothing: the test proves nothing")
	}
	if got := rep.Images[0]; got.ContentSource == "" || got.PullsNeeded != 0 {
		t.Errorf("plan: content source %q, %d pulls needed; want the content source and 0", got.ContentSource, got.PullsNeeded)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 {
		t.Errorf("hub manifest GETs = %d, want 0", s.ManifestGets)
	}
	out, derr := awsecr.NewFromConfig(motoConfig(t)).DescribeRepositories(context.Background(),
		&awsecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if derr == nil {
		t.Errorf("repository %s was created: %+v", repo, out.Repositories)
	}
}

// TestContentSourceBudgetPerImage: with no pull left, an image a content
// source holds costs nothing and is copied, though another image of the
// same run needs a pull and stops on the budget.
func TestContentSourceBudgetPerImage(t *testing.T) {
	t.Parallel()
	h, target, csUp := newHub(t), newRegistry(t), newRegistry(t)
	held := h.push(t, "held:1", randomImage(t, 1024, 1))
	copyImage(t, h.upstream+"/library/held:1", csUp+"/library/held:1")
	h.push(t, "hubonly:1", randomImage(t, 1024, 1))
	repo := uniqueRepo(t)
	h.proxy.Reset()
	h.proxy.SetQuota(100, 0, false)
	rep, err := Mirror(context.Background(), []Image{
		{Source: "docker.io/library/held:1", Repository: repo},
		{Source: "docker.io/library/hubonly:1", Repository: repo + "-hub"},
	}, append(testOptions(t, target, h, nil), WithContentSource("docker.io", "http://"+csUp))...)
	if !errors.Is(err, ErrPullBudget) || rep.Failed != 1 {
		t.Fatalf("Mirror error = %v (failed %d), want only the hub-only image to fail on the budget", err, rep.Failed)
	}
	if got := rep.Images[0]; got.Error != "" || got.Digest != held || head(t, target, repo+":1") != held {
		t.Errorf("held image = %s %q (ECR %s), want %s copied", got.Digest, got.Error, head(t, target, repo+":1"), held)
	}
	if got := rep.Images[1]; !strings.Contains(got.Error, "not enough pulls") || head(t, target, repo+"-hub:1") != "" {
		t.Errorf("hub-only image = %s %q, want the budget error and nothing in ECR", got.Status, got.Error)
	}
	if s := h.proxy.Stats(); s.ManifestGets != 0 {
		t.Errorf("hub manifest GETs = %d, want 0", s.ManifestGets)
	}
}
