package compose_test

import (
	"context"
	"fmt"
	"os"

	"ecrbase/compose"
	"ecrbase/rewrite"
)

func ExampleFile() {
	data := []byte("services:\n  db:\n    image: \"postgres:16\" # the database\n")
	res, err := compose.File(context.Background(), "compose.yaml", data, compose.Options{
		Options: rewrite.Options{Region: "eu-west-1"},
		Environ: []string{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(res.Output)
	for _, r := range res.Refs {
		fmt.Println(r.Line, r.Status, r.Upstream, r.Repository)
	}
	// Output:
	// services:
	//   db:
	//     image: "${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION:-eu-west-1}.amazonaws.com/docker-hub/library/postgres:16" # the database
	// 3 rewrite docker.io/library/postgres:16 docker-hub/library/postgres
}
