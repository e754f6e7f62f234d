package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"ecrbase/ecr"
	"ecrbase/internal/testenv"
)

// TestReplicationBackfillCLI mirrors a catalogue into one "ECR" registry
// with the ecrbase binary, then runs ecrbase replication --backfill into a
// second one (another region, at its real host name): the rule is set in
// moto, every image lands in the destination at the upstream digest, and a
// second run changes nothing.
func TestReplicationBackfillCLI(t *testing.T) {
	needECRStack(t)
	const destRegion = "eu-central-1"
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	hosts := map[string]string{ // region -> host
		procsRegion: fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", procsAccount, procsRegion),
		destRegion:  fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", procsAccount, destRegion),
	}
	ips := map[string]string{
		procsRegion: testIP("ECRBASE_TEST_ECR_IP", "127.0.77.2"),
		destRegion:  testIP("ECRBASE_TEST_ECR_IP2", "127.0.77.3"),
	}
	var bundle []byte
	for region, host := range hosts {
		if err := mapHost(t, host, ips[region]); err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(dir, region)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		ca, err := os.ReadFile(serveECR(t, sub, host, ips[region]))
		if err != nil {
			t.Fatal(err)
		}
		bundle = append(bundle, ca...)
	}
	caFile := filepath.Join(dir, "ca-bundle.pem")
	writeFile(t, caFile, string(bundle), 0o644)
	motoURL := testenv.Moto(t)

	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(up.Close)
	upHost := strings.TrimPrefix(up.URL, "http://")
	base := static(t, 32<<10)
	want := map[string]string{} // repository:tag -> digest
	for i, ref := range []string{"team/api:1", "team/api:2", "team/web:stable"} {
		want["docker-hub/"+ref] = pushOnBase(t, upHost+"/"+ref, base, i == 2)
	}
	list := filepath.Join(dir, "images.txt")
	writeFile(t, list, "# catalogue\nteam/api:1\nteam/api:2\nteam/web:stable\n", 0o644)

	env := append(os.Environ(),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION="+procsRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_ENDPOINT_URL_ECR="+motoURL, "AWS_ENDPOINT_URL_STS="+motoURL,
		"DOCKER_CONFIG="+filepath.Join(dir, "docker-config"), "SSL_CERT_FILE="+caFile,
	)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, dir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ecrbase %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 3000))
		}
		return string(out)
	}
	run("mirror", "--registry-mirror", "docker.io="+up.URL, "--images-from", list)

	type result struct {
		Replication ecr.ReplicationResult `json:"replication"`
		Backfill    []struct {
			Destination ecr.Destination `json:"destination"`
			Report      ecr.Report      `json:"report"`
		} `json:"backfill"`
	}
	var res result
	if err := json.Unmarshal([]byte(run("replication", "--to", destRegion, "--backfill", "--images-from", list, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Replication.Changed || len(res.Backfill) != 1 || res.Backfill[0].Report.Failed != 0 || len(res.Backfill[0].Report.Images) != 3 {
		t.Fatalf("replication --backfill = %+v", res)
	}
	for _, r := range res.Backfill[0].Report.Images {
		if r.Action != ecr.Copy {
			t.Errorf("backfill of %s: action %s, want copy", r.Source, r.Action)
		}
	}
	for repoTag, d := range want {
		for region, host := range hosts {
			ref, err := name.ParseReference(host + "/" + repoTag)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Head(ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: procsToken}), remote.WithTransport(trusting(t, caFile)))
			if err != nil || got.Digest.String() != d {
				t.Errorf("%s %s: %v %v, want upstream %s", region, repoTag, got, err, d)
			}
		}
	}
	cfg := aws.Config{Region: procsRegion, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(motoURL)}
	out, err := awsecr.NewFromConfig(cfg).DescribeRegistry(context.Background(), &awsecr.DescribeRegistryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if rules := out.ReplicationConfiguration.Rules; len(rules) != 1 || len(rules[0].Destinations) != 1 ||
		aws.ToString(rules[0].Destinations[0].Region) != destRegion || len(rules[0].RepositoryFilters) != 6 {
		t.Errorf("replication rules in moto = %+v, want one rule to %s with the 6 default prefixes", rules, destRegion)
	}

	// Again: nothing to set, nothing to copy.
	res = result{}
	if err := json.Unmarshal([]byte(run("replication", "--to", destRegion, "--backfill", "--images-from", list, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Replication.Changed {
		t.Error("second replication run changed the rules")
	}
	for _, r := range res.Backfill[0].Report.Images {
		if r.Action != ecr.None {
			t.Errorf("second backfill of %s: action %s, want none", r.Source, r.Action)
		}
	}
}
