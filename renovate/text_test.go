package renovate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteTable: the aliases in a table, in their order, then a line per
// package rule naming its packages.
func TestWriteTable(t *testing.T) {
	t.Parallel()
	host := "${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com"
	cfg := Config{
		Aliases: []Alias{{Key: host + "/registry.example.org", Value: "registry.example.org"}, {Key: host + "/q", Value: "quay.io"}},
		PackageRules: []PackageRule{{Description: "ecrbase: only linux/amd64",
			MatchPackageNames: []string{"docker.io/library/python", "quay.io/minio/minio"}}},
	}
	want := strings.Join([]string{
		"ALIAS                                                                   REGISTRY",
		"${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/registry.example.org  registry.example.org",
		"${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/q                     quay.io",
		"package rule: ecrbase: only linux/amd64 (docker.io/library/python, quay.io/minio/minio)",
		"",
	}, "\n")
	var b strings.Builder
	if err := cfg.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTable (-want +got):\n%s", diff)
	}

	// Nothing found: the header alone, as the command prints it.
	b.Reset()
	if err := (Config{}).WriteTable(&b); err != nil || b.String() != "ALIAS  REGISTRY\n" {
		t.Errorf("WriteTable of an empty configuration = %q, %v; want the header", b.String(), err)
	}
}
