package ecr_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"ecrbase/ecr"
)

// ResolveTarget names the registry; with an explicit account it makes no
// AWS call.
func ExampleResolveTarget() {
	t, err := ecr.ResolveTarget(context.Background(),
		ecr.WithAWSConfig(aws.Config{}), ecr.WithAccount("123456789012"), ecr.WithRegion("eu-west-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Registry)
	// Output: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
}

func ExampleEvent_String() {
	e := ecr.Event{Image: "docker.io/library/python:3.7", Kind: "done", Status: "copied",
		Digest: "sha256:3e1a…", Bytes: 48 << 20, Message: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/python:3.7"}
	fmt.Println(e)
	// Output: docker.io/library/python:3.7 done copied sha256:3e1a… 48.0 MiB: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/python:3.7
}
