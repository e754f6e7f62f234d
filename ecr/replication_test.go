package ecr

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
)

// pushTo writes an image or index to host/repoTag and returns its digest.
func pushTo(t testing.TB, host, repoTag string, x remote.Taggable) string {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	var d v1.Hash
	switch x := x.(type) {
	case v1.Image:
		err = remote.Write(ref, x)
		d, _ = x.Digest()
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, x)
		d, _ = x.Digest()
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func rule(filters []string, dests ...string) types.ReplicationRule {
	r := types.ReplicationRule{}
	for _, f := range filters {
		r.RepositoryFilters = append(r.RepositoryFilters, types.RepositoryFilter{Filter: aws.String(f), FilterType: types.RepositoryFilterTypePrefixMatch})
	}
	for _, d := range dests {
		region, account, _ := strings.Cut(d, ":")
		r.Destinations = append(r.Destinations, types.ReplicationDestination{Region: aws.String(region), RegistryId: aws.String(account)})
	}
	return r
}

// rulesString is a compact form of rules for comparisons.
func rulesString(rules []types.ReplicationRule) string {
	var parts []string
	for _, r := range rules {
		var fs, ds []string
		for _, f := range r.RepositoryFilters {
			fs = append(fs, aws.ToString(f.Filter))
		}
		for _, d := range r.Destinations {
			ds = append(ds, aws.ToString(d.Region)+":"+aws.ToString(d.RegistryId))
		}
		parts = append(parts, "["+strings.Join(fs, ",")+" -> "+strings.Join(ds, ",")+"]")
	}
	return strings.Join(parts, " ")
}

func TestMergeReplication(t *testing.T) {
	t.Parallel()
	ours := []string{"docker-hub/", "quay/"}
	west := Destination{Region: "eu-west-1", Account: "123456789012"}
	other := Destination{Region: "us-west-2", Account: "210987654321"}
	tenRules := make([]types.ReplicationRule, maxReplicationRules)
	for i := range tenRules {
		tenRules[i] = rule([]string{"team" + string(rune('a'+i)) + "/"}, "ap-south-1:123456789012")
	}
	for _, tc := range []struct {
		name    string
		before  []types.ReplicationRule
		dests   []Destination
		want    string
		changed bool
		err     string
	}{
		{"empty registry", nil, []Destination{west}, "[docker-hub/,quay/ -> eu-west-1:123456789012]", true, ""},
		{"another team's rule is kept",
			[]types.ReplicationRule{rule([]string{"apps/"}, "us-east-2:123456789012")}, []Destination{west, other},
			"[apps/ -> us-east-2:123456789012] [docker-hub/,quay/ -> eu-west-1:123456789012,us-west-2:210987654321]", true, ""},
		{"our rule gains a destination",
			[]types.ReplicationRule{rule(ours, "eu-west-1:123456789012")}, []Destination{west, other},
			"[docker-hub/,quay/ -> eu-west-1:123456789012,us-west-2:210987654321]", true, ""},
		{"already set: nothing to write",
			[]types.ReplicationRule{rule([]string{"quay/", "docker-hub/"}, "eu-west-1:123456789012")}, []Destination{west},
			"[quay/,docker-hub/ -> eu-west-1:123456789012]", false, ""},
		{"a rule without filters covers everything",
			[]types.ReplicationRule{rule(nil, "eu-west-1:123456789012")}, []Destination{west},
			"[ -> eu-west-1:123456789012]", false, ""},
		{"a broader prefix covers ours",
			[]types.ReplicationRule{rule([]string{"docker", "qu"}, "eu-west-1:123456789012")}, []Destination{west},
			"[docker,qu -> eu-west-1:123456789012]", false, ""},
		{"covered for one prefix only",
			[]types.ReplicationRule{rule([]string{"docker-hub/"}, "eu-west-1:123456789012")}, []Destination{west},
			"[docker-hub/ -> eu-west-1:123456789012] [docker-hub/,quay/ -> eu-west-1:123456789012]", true, ""},
		{"ten rules already", tenRules, []Destination{west}, "", false, "10 rules already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			after, changed, err := mergeReplication(tc.before, ours, tc.dests)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("mergeReplication error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rulesString(after); got != tc.want || changed != tc.changed {
				t.Errorf("mergeReplication = %s (changed %t), want %s (changed %t)", got, changed, tc.want, tc.changed)
			}
			// Merging again changes nothing.
			if again, changed, err := mergeReplication(after, ours, tc.dests); err != nil || changed || rulesString(again) != rulesString(after) {
				t.Errorf("second merge = %s (changed %t, %v), want no change", rulesString(again), changed, err)
			}
			if before := rulesString(tc.before); len(tc.before) > 0 && !strings.HasPrefix(rulesString(after), before[:strings.Index(before, "]")]) {
				t.Errorf("merge changed the first existing rule: %s -> %s", before, rulesString(after))
			}
		})
	}
}

func TestParseDestination(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Destination{
		"eu-west-1":              {Region: "eu-west-1"},
		"us-west-2:210987654321": {Region: "us-west-2", Account: "210987654321"},
		"us-gov-west-1":          {Region: "us-gov-west-1"},
	} {
		if got, err := ParseDestination(in); err != nil || got != want {
			t.Errorf("ParseDestination(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "EU-WEST-1", "eu-west-1:123", "eu-west-1:abcdefghijkl", "europe"} {
		if got, err := ParseDestination(in); err == nil {
			t.Errorf("ParseDestination(%q) = %v, want an error", in, got)
		}
	}
}

// TestConfigureReplicationMoto sets the configuration in moto and reads it
// back. moto 5.2.1 accepts one rule only ("This feature is disabled" for
// more), so the merge with other rules is covered by TestMergeReplication.
func TestConfigureReplicationMoto(t *testing.T) {
	cfg := motoConfig(t)
	cfg.Region = "ca-central-1" // a registry of its own in the shared moto
	opts := []Option{WithAWSConfig(cfg), WithAccount(motoAccount)}
	ctx := context.Background()
	prefixes := []string{"docker-hub", "quay/", "docker-hub"}

	dry, err := ConfigureReplication(ctx, prefixes, []Destination{{Region: "eu-west-1"}}, append(opts, WithDryRun(true))...)
	if err != nil {
		t.Fatal(err)
	}
	if !dry.Changed || rulesString(dry.After) != "[docker-hub/,quay/ -> eu-west-1:123456789012]" {
		t.Errorf("dry run = %s (changed %t)", rulesString(dry.After), dry.Changed)
	}
	api := awsecr.NewFromConfig(cfg)
	read := func() string {
		t.Helper()
		out, err := api.DescribeRegistry(ctx, &awsecr.DescribeRegistryInput{})
		if err != nil {
			t.Fatal(err)
		}
		if out.ReplicationConfiguration == nil {
			return ""
		}
		return rulesString(out.ReplicationConfiguration.Rules)
	}
	if got := read(); got != "" {
		t.Fatalf("after a dry run the registry has rules %s, want none", got)
	}

	res, err := ConfigureReplication(ctx, prefixes, []Destination{{Region: "eu-west-1"}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[docker-hub/,quay/ -> eu-west-1:123456789012]"; !res.Changed || read() != want {
		t.Errorf("ConfigureReplication: registry has %s (changed %t), want %s", read(), res.Changed, want)
	}
	res, err = ConfigureReplication(ctx, prefixes, []Destination{{Region: "eu-west-1"}, {Region: "us-west-2", Account: "210987654321"}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[docker-hub/,quay/ -> eu-west-1:123456789012,us-west-2:210987654321]"; !res.Changed || read() != want {
		t.Errorf("adding a destination: registry has %s (changed %t), want %s", read(), res.Changed, want)
	}
	res, err = ConfigureReplication(ctx, prefixes, []Destination{{Region: "us-west-2", Account: "210987654321"}}, opts...)
	if err != nil || res.Changed {
		t.Errorf("a destination already set: changed %t, %v; want no change", res != nil && res.Changed, err)
	}
	if b, err := json.Marshal(res); err != nil || !strings.Contains(string(b), `"rules_after"`) {
		t.Errorf("report JSON = %s, %v", b, err)
	}

	if _, err := ConfigureReplication(ctx, prefixes, []Destination{{Region: "ca-central-1"}}, opts...); err == nil || !strings.Contains(err.Error(), "source registry itself") {
		t.Errorf("replicating to itself: error %v, want one saying so", err)
	}
}

// TestBackfill copies what one local "ECR" holds into another, as the
// backfill of a new replication destination does.
func TestBackfill(t *testing.T) {
	src, dst := newRegistry(t), newRegistry(t)
	repo := uniqueRepo(t)
	// What an earlier mirror left in the source registry: an image by tag,
	// an index by tag, and an image by digest only.
	img := randomImage(t, 4096, 2)
	idx := multiArch(t, ggcrtypes.OCIImageIndex, "linux/amd64", "linux/arm64")
	pinned := randomImage(t, 1024, 1)
	pushTo(t, src, repo+":img", img)
	pushTo(t, src, repo+":idx", idx)
	pinnedDigest := pushTo(t, src, repo+":pinned-only", pinned)

	srcHost := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	images := []Image{
		{Source: "docker.io/library/x:img", Repository: repo},
		{Source: "docker.io/library/x:idx", Repository: repo},
		{Source: "docker.io/library/x@" + pinnedDigest, Repository: repo},
	}
	opts := append(testOptions(t, dst, nil, nil), WithRegistryMirror(srcHost, "http://"+src))
	rep, err := Backfill(context.Background(), images, Destination{Region: "eu-west-1"}, opts...)
	if err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if rep.Region != "eu-west-1" || rep.Failed != 0 || len(rep.Images) != 3 {
		t.Fatalf("Backfill report: region %s, %d failed, %d images", rep.Region, rep.Failed, len(rep.Images))
	}
	for _, ref := range []string{repo + ":img", repo + ":idx", repo + "@" + pinnedDigest} {
		want, got := head(t, src, ref), head(t, dst, ref)
		if got == "" || got != want {
			t.Errorf("destination %s = %q, want the source's %q", ref, got, want)
		}
	}
	// The destination's repository exists in its own region.
	cfg := motoConfig(t)
	cfg.Region = "eu-west-1"
	out, err := awsecr.NewFromConfig(cfg).DescribeRepositories(context.Background(), &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if err != nil || len(out.Repositories) != 1 {
		t.Errorf("moto eu-west-1 DescribeRepositories(%s) = %v, %v", repo, out, err)
	}
	// A second backfill finds everything there.
	rep, err = Backfill(context.Background(), images, Destination{Region: "eu-west-1"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Images {
		if r.Action != None {
			t.Errorf("second backfill of %s: action %s, want none", r.Source, r.Action)
		}
	}
	if _, err := Backfill(context.Background(), images, Destination{Region: "us-east-1"}, opts...); err == nil {
		t.Error("Backfill into the source registry itself: no error")
	}
}
