package renovate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile string
		want             []string
	}{
		{"region default", "ARG AWS_ACCOUNT_ID\nARG AWS_REGION=us-east-1\nFROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7\n",
			[]string{"${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com"}},
		{"no default", "ARG A\nARG R\nFROM ${A}.dkr.ecr.${R}.amazonaws.com/x/y:1\n", []string{"${A}.dkr.ecr.${R}.amazonaws.com"}},
		{"dollar without braces and China", "ARG R=cn-north-1\nFROM $A.dkr.ecr.$R.amazonaws.com.cn/x/y:1\n", []string{"$A.dkr.ecr.cn-north-1.amazonaws.com.cn"}},
		{"an ARG after the FROM does not apply", "FROM ${A}.dkr.ecr.${R}.amazonaws.com/x/y:1\nARG R=eu-west-1\n", []string{"${A}.dkr.ecr.${R}.amazonaws.com"}},
		{"COPY --from and two hosts", "ARG R=eu-west-1\nFROM ${A}.dkr.ecr.${R}.amazonaws.com/x/y:1\nCOPY --from=123456789012.dkr.ecr.us-west-2.amazonaws.com/z:1 / /\n",
			[]string{"${A}.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.us-west-2.amazonaws.com"}},
		{"not ECR", "FROM python:3.7\nFROM quay.io/x/y:1\nFROM scratch\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Hosts([]byte(tc.dockerfile))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Hosts(%q) = %q, %v; want %q", tc.dockerfile, got, err, tc.want)
			}
		})
	}
}

func TestAliasesLongestPrefixFirst(t *testing.T) {
	got := Aliases([]string{"h"}, map[string]string{"docker.io": "web", "quay.io": "web/quay", "ghcr.io": ""})
	want := []Alias{{"h/web/quay", "quay.io"}, {"h/web", "docker.io"}, {"h", "ghcr.io"}}
	if !slices.Equal(got, want) {
		t.Errorf("Aliases = %v, want %v", got, want)
	}
}

func TestMergeKeepsOrderAndOtherSettings(t *testing.T) {
	existing := `{"$schema": "x", "registryAliases": {"b": "1", "k": "old"}, "packageRules": [{"description": "ecrbase: old"}, {"matchPackageNames": ["p"]}], "z": true}`
	out, err := Merge([]byte(existing), Config{
		Aliases:      []Alias{{"k", "new"}, {"a", "2"}},
		PackageRules: []PackageRule{{Description: "ecrbase: new"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	order := []string{`"$schema"`, `"registryAliases"`, `"b": "1"`, `"k": "new"`, `"a": "2"`, `"packageRules"`, `"matchPackageNames"`, `"ecrbase: new"`, `"z"`}
	last := -1
	for _, k := range order {
		i := strings.Index(s, k)
		if i <= last {
			t.Fatalf("Merge output out of order at %s:\n%s", k, s)
		}
		last = i
	}
	if strings.Contains(s, "ecrbase: old") || !json.Valid(out) {
		t.Errorf("Merge kept ecrbase's old rule or wrote bad JSON:\n%s", s)
	}
	for _, bad := range []string{"[]", "{", `{"registryAliases": []}`, `{} {}`} {
		if _, err := Merge([]byte(bad), Config{}); err == nil {
			t.Errorf("Merge(%q) accepted it", bad)
		}
	}
}
