// Package ecr mirrors container images into Amazon ECR, digest-exact and
// sparing with counted Docker Hub pulls.
//
// Mirror plans every image with HEAD requests, which Docker Hub does not
// count, and only GETs manifests of images ECR lacks or has at an older
// digest. Manifests are copied byte for byte (digests are preserved), whole
// indexes by default, blobs are streamed and skipped when ECR has them, and
// tags are written after everything they point to. Registry credentials for
// ECR come from GetAuthorizationToken; source credentials from the Docker
// config (and its helpers) or DOCKERHUB_USERNAME / DOCKERHUB_TOKEN. No
// credential appears in any error, event or report.
//
// ResolveTarget finds the account and region alone, for callers that only
// need to name the registry.
//
// Every AWS call goes through the api interface in aws.go.
package ecr
