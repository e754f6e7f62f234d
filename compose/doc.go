// Package compose finds the images a compose file pulls and rewrites its
// image: values to Amazon ECR URIs, changing no other byte.
//
// The semantics come from the compose specification's own loader,
// compose-go (the one Docker Compose uses): schema validation, variable
// interpolation with .env, include: and extends:. The bytes to edit come
// from the YAML nodes of the raw file, located by line and column, so that
// comments, quoting, anchors and ordering stay as they were: the document is
// never re-serialised.
//
// The URIs are written with compose's own interpolation:
// ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION:-us-east-1}.amazonaws.com/...,
// with the repository names, prefixes and filters of package rewrite, so a
// compose file and a Dockerfile pull an image from the same repository.
package compose
