package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ecrbase/ecr"
	"ecrbase/internal/testenv"
)

func TestReplicationCommand(t *testing.T) {
	moto := testenv.Moto(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "sa-east-1", "AWS_ENDPOINT_URL_ECR": moto, "AWS_ENDPOINT_URL_STS": moto,
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
	type result struct {
		Replication ecr.ReplicationResult `json:"replication"`
	}
	replicate := func(args ...string) (int, result, string) {
		t.Helper()
		code, out, errOut := ecrbase(t, "", append([]string{"replication", "--json"}, args...)...)
		var r result
		if code == exitOK {
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("replication --json output: %v\n%s", err, out)
			}
		}
		return code, r, errOut
	}

	code, r, errOut := replicate("--to", "eu-west-1", "--prefix", "docker.io=mirror/hub", "--dry-run")
	if code != exitOK || !r.Replication.Changed || !r.Replication.DryRun {
		t.Fatalf("replication --dry-run = %d (%+v), stderr %q", code, r.Replication, errOut)
	}
	want := []string{"ecr-public/", "github-container-registry/", "gitlab-container-registry/", "k8s/", "mirror/hub/", "quay/"}
	if !slices.Equal(r.Replication.Filters, want) {
		t.Errorf("filters = %q, want %q", r.Replication.Filters, want)
	}
	code, r, errOut = replicate("--to", "eu-west-1,us-west-2:210987654321")
	if code != exitOK || !r.Replication.Changed || len(r.Replication.After) != 1 || len(r.Replication.After[0].Destinations) != 2 {
		t.Fatalf("replication = %d (%+v), stderr %q", code, r.Replication, errOut)
	}
	if r.Replication.Registry != "123456789012" || r.Replication.Destinations[0] != (ecr.Destination{Region: "eu-west-1", Account: "123456789012"}) {
		t.Errorf("replication registry %s, destinations %v", r.Replication.Registry, r.Replication.Destinations)
	}
	code, r, errOut = replicate("--to", "us-west-2:210987654321")
	if code != exitOK || r.Replication.Changed {
		t.Errorf("replication again = %d, changed %t, stderr %q; want no change", code, r.Replication.Changed, errOut)
	}
	code, out, _ := ecrbase(t, "", "replication", "--to", "eu-west-1")
	if code != exitOK || !strings.Contains(out, "already set, nothing written") {
		t.Errorf("replication (text) = %d, %q", code, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "at least one --to"},
		{[]string{"--to", "mars-1"}, `"mars-1" is not an AWS region`},
		{[]string{"--to", "eu-west-1:42"}, "want 12 digits"},
		{[]string{"--to", "eu-west-1", "--image", "python:3.12"}, "need --backfill"},
	} {
		code, _, errOut := ecrbase(t, "", append([]string{"replication"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("replication %q = %d, stderr %q; want %d with %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
	code, _, errOut = ecrbase(t, "", "replication", "--to", "sa-east-1")
	if code != exitError || !strings.Contains(errOut, "source registry itself") {
		t.Errorf("replication to itself = %d, stderr %q", code, errOut)
	}

	// The destinations may come from .ecrbase.yaml; --to replaces them.
	writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nreplication:\n  to: [us-west-2:210987654321, eu-west-1]\n", 0o644)
	code, r, errOut = replicate()
	if code != exitOK || r.Replication.Changed || len(r.Replication.Destinations) != 2 || r.Replication.Destinations[0].Account != "210987654321" {
		t.Errorf("replication with replication.to in the file = %d (%+v), stderr %q", code, r.Replication, errOut)
	}
	code, r, _ = replicate("--to", "eu-west-1")
	if code != exitOK || len(r.Replication.Destinations) != 1 {
		t.Errorf("replication --to with a file = %d, destinations %v; want the flag's only", code, r.Replication.Destinations)
	}
	code, out, _ = ecrbase(t, "", "config")
	if code != exitOK || !strings.Contains(out, "replication.to               us-west-2:210987654321,eu-west-1                     .ecrbase.yaml:3") {
		t.Errorf("config = %d, output:\n%s", code, out)
	}
	writeFile(t, filepath.Join(dir, ".ecrbase.yaml"), "version: 1\nreplication:\n  to:\n    - eu-west-1\n    - mars\n", 0o644)
	code, _, errOut = ecrbase(t, "", "replication")
	if code == exitOK || !strings.Contains(errOut, ".ecrbase.yaml:5") || !strings.Contains(errOut, "mars") {
		t.Errorf("replication with a bad replication.to = %d, stderr %q; want .ecrbase.yaml:5 naming mars", code, errOut)
	}
}
