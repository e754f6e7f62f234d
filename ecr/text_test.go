package ecr

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
)

// TestReportTableFrom: the table says where each image's bytes came from
// (or would come from, in a plan), and the summary counts pulls per
// registry.
func TestReportTableFrom(t *testing.T) {
	t.Parallel()
	rep := &Report{DryRun: false, Pulls: map[string]int{"index.docker.io": 1}, PullsUsed: 1, Images: []Result{
		{Source: "docker.io/library/python:3.12", Status: Missing, Action: Copy, Target: "t/python:3.12",
			Content: []Origin{{Registry: "public.ecr.aws/docker", Manifests: 3}}},
		{Source: "docker.io/grafana/grafana:11", Status: Missing, Action: Copy, Target: "t/grafana:11", PullsUsed: 1,
			Content: []Origin{{Registry: "mirror.gcr.io", Manifests: 2}, {Registry: "index.docker.io", Manifests: 1, Pulls: 1}}},
		{Source: "docker.io/library/alpine:3", Status: UpToDate, Action: None, Target: "t/alpine:3"},
	}}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"FROM",
		"public.ecr.aws/docker ",
		"mirror.gcr.io,index.docker.io ",
		"3 image(s), 0 failed, 1 counted pull(s) used (index.docker.io 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTable output lacks %q:\n%s", want, out)
		}
	}
	plan := &Report{DryRun: true, Pulls: map[string]int{"index.docker.io": 0}, Images: []Result{
		{Source: "docker.io/library/python:3.12", Status: Missing, Action: Copy, Target: "t/python:3.12", ContentSource: "public.ecr.aws/docker"},
	}}
	b.Reset()
	if err := plan.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "public.ecr.aws/docker") || !strings.Contains(out, "0 counted pull(s) needed (index.docker.io 0)") {
		t.Errorf("plan output:\n%s", out)
	}
}

// TestReportTable checks the whole table of a plan: digests cut to 12
// digits, a dash for an empty cell, estimated pulls marked with ~, the
// reasons of the estimate and the quotas in the summary.
func TestReportTable(t *testing.T) {
	t.Parallel()
	const (
		src = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		dst = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	)
	plan := &Report{DryRun: true, PullsNeeded: 3, PullsEstimate: true, Failed: 1,
		Pulls:  map[string]int{"quay.io": 1, "index.docker.io": 2},
		Quotas: []Quota{{Registry: "index.docker.io", Limit: 100, Remaining: 42, Window: 21600}},
		Images: []Result{
			{Source: "docker.io/library/python:3.12", Status: Stale, Action: Update, SourceDigest: src, TargetDigest: dst,
				PullsNeeded: 2, PullsEstimate: true, PullsEstimateReason: "how many platforms the index has", Target: "t/python:3.12"},
			{Source: "quay.io/minio/minio:latest", Status: Missing, Action: Copy, SourceDigest: "sha256:abc", PullsNeeded: 1, Target: "t/minio:latest"},
			{Source: "docker.io/library/nope:1", Status: Unresolved, Action: Fail, Target: "t/nope:1"},
		}}
	want := strings.Join([]string{
		"SOURCE                         STATUS      ACTION  SOURCE DIGEST        ECR DIGEST           PULLS  FROM  TARGET",
		"docker.io/library/python:3.12  stale       update  sha256:0123456789ab  sha256:fedcba987654  2~     -     t/python:3.12",
		"quay.io/minio/minio:latest     missing     copy    sha256:abc           -                    1      -     t/minio:latest",
		"docker.io/library/nope:1       unresolved  fail    -                    -                    0      -     t/nope:1",
		"3 image(s), 1 failed, at least 3 counted pull(s) needed (estimate: an index counts as 2 until pulled, 1 + its platforms after)" +
			" (index.docker.io 2, quay.io 1); index.docker.io: 42 of 100 pulls left per 6h0m0s window",
		"",
	}, "\n")
	var b strings.Builder
	if err := plan.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTable (-want +got):\n%s", diff)
	}
}

// TestReplicationResultString: one line per result, in each of its three
// states.
func TestReplicationResultString(t *testing.T) {
	t.Parallel()
	res := func(changed, dryRun bool) *ReplicationResult {
		return &ReplicationResult{Registry: "123456789012", Region: "us-east-1",
			Filters:      []string{"docker-hub/", "quay/"},
			Destinations: []Destination{{Region: "eu-west-1"}, {Region: "us-west-2", Account: "210987654321"}},
			Before:       []types.ReplicationRule{{}},
			After:        []types.ReplicationRule{{}, {}},
			Changed:      changed, DryRun: dryRun}
	}
	const head = "replication of docker-hub/, quay/ from 123456789012 in us-east-1 to eu-west-1, us-west-2:210987654321: "
	for _, tc := range []struct {
		name string
		res  *ReplicationResult
		want string
	}{
		{"unchanged", res(false, false), head + "already set, nothing written"},
		{"unchanged dry run", res(false, true), head + "already set, nothing written"},
		{"dry run", res(true, true), head + "would be set (dry run)"},
		{"set", res(true, false), head + "set (2 rule(s) in the registry)"},
	} {
		if got := tc.res.String(); got != tc.want {
			t.Errorf("%s: String() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
