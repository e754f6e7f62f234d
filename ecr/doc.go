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
// Those GETs go first to content sources (content.go): registries that hold
// the same images by digest, such as Docker's copy of the official images
// on ECR Public. Their bytes are verified against the digest Docker Hub's
// HEAD gave, so a cold copy can spend no counted pull at all. Signatures
// and other referrers of the copied manifests follow them (referrers.go).
//
// ResolveTarget finds the account and region alone, for callers that only
// need to name the registry.
//
// Every AWS call goes through the api interface in aws.go.
//
// Layout:
//
//	mirror.go       Mirror: plan every image (an imageJob each) with HEADs, then copy what is missing
//	copy.go         copying manifests and blobs, platform subsets
//	ref.go          Image, and parsing a source reference and its registry mirror
//	options.go      Option, Options, their defaults and CheckOptions
//	target.go       ResolveTarget: the account, region and ECR host
//	aws.go          the narrow api interface over the SDK, and its configuration
//	credentials.go  ErrNoCredentials for a credential chain that found none
//	auth.go         ECR tokens, source keychains, redaction of secrets
//	transport.go    HTTP: the pull ledger (quota headers, counted pulls), 429 waits, the HTTPS upgrader
//	repo.go         creating repositories with their settings
//	scan.go         the scan gate (WithScanWait, WithFailOn)
//	report.go       Report, Result, Status, Action and events
//	text.go         the report's table and a replication result's line, as the command line prints them
//	errors.go       sentinel errors and MirrorError
//	plan.go         eachLimit, and checking ECR while the source is read
//	batch.go        BatchGetImage: up to 100 tags checked per call, HEADs as fallback
//	tokens.go       one Docker Hub token for many repositories' pulls
//	timeout.go      --timeout: silent peers, stalled bodies and uploads
//	uploads.go      cancelling the upload sessions a failed copy left open
//	race.go         many builds at once: another build's copy or repository
//	content.go      content sources: a Docker Hub digest read elsewhere, verified
//	plan_referrers.go, referrers.go  signatures and other referrers, planned and copied
//	replication.go  ConfigureReplication and Backfill
//
// The rules shared with rewrite and the command line (registry names,
// mirror URLs, platforms, tag mutability, lifecycle policies) are in
// ecrbase/internal/registry.
package ecr
