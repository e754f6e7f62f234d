package project

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteBuildArgs: each format of build-args, the arguments in List's
// order (JSON sorts its keys).
func TestWriteBuildArgs(t *testing.T) {
	t.Parallel()
	host := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	args := [][2]string{
		{"Account_ID", "123456789012"},
		{"AWS_REGION", "us-east-1"},
		{"BASE", host + "/docker-hub/library/python:3.12"},
		{"BUILDKIT_SYNTAX", host + "/docker-hub/docker/dockerfile:1"},
	}
	for _, tc := range []struct {
		format, want string
	}{
		{"docker", "--build-arg Account_ID=123456789012 --build-arg AWS_REGION=us-east-1" +
			" --build-arg BASE=" + host + "/docker-hub/library/python:3.12 --build-arg BUILDKIT_SYNTAX=" + host + "/docker-hub/docker/dockerfile:1\n"},
		{"env", "Account_ID=123456789012\nAWS_REGION=us-east-1\nBASE=" + host + "/docker-hub/library/python:3.12\nBUILDKIT_SYNTAX=" + host + "/docker-hub/docker/dockerfile:1\n"},
		{"json", "{\n  \"AWS_REGION\": \"us-east-1\",\n  \"Account_ID\": \"123456789012\",\n" +
			"  \"BASE\": \"" + host + "/docker-hub/library/python:3.12\",\n  \"BUILDKIT_SYNTAX\": \"" + host + "/docker-hub/docker/dockerfile:1\"\n}\n"},
	} {
		var b strings.Builder
		if err := WriteBuildArgs(&b, tc.format, args); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("WriteBuildArgs(%q) (-want +got):\n%s", tc.format, diff)
		}
	}
}
