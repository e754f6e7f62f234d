package rewrite

import (
	"strings"

	"github.com/distribution/reference"
)

// Kind says which instruction pulls an image.
type Kind string

// The kinds of image reference.
const (
	KindFrom      Kind = "from"
	KindCopyFrom  Kind = "copy-from"
	KindMountFrom Kind = "mount-from"
	KindSyntax    Kind = "syntax"
)

// Status says what rewrite does with a reference.
type Status string

// The statuses of a reference.
const (
	// StatusRewrite: an image that is (or will be) pulled from ECR.
	StatusRewrite Status = "rewrite"
	// StatusAlreadyECR: the reference already points at an ECR registry.
	StatusAlreadyECR Status = "already-ecr"
	// StatusStage: a build stage, not an image.
	StatusStage Status = "stage"
	// StatusScratch: the empty image.
	StatusScratch Status = "scratch"
	// StatusUnresolved: a variable has no value, or the image name itself is
	// built from variables; the text is left as written.
	StatusUnresolved Status = "unresolved"
	// StatusExcluded: skipped by --exclude or --only.
	StatusExcluded Status = "excluded"
	// StatusKept: an image that is mirrored but cannot use build arguments
	// where it is written (the # syntax= directive, ONBUILD triggers), so the
	// text is kept unless literal mode is on.
	StatusKept Status = "kept"
)

// Ref is one image reference found in a Dockerfile.
type Ref struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Kind Kind   `json:"kind"`
	// Text is the reference as written.
	Text string `json:"text"`
	// Reference is the resolved, normalised reference, such as
	// docker.io/library/python:3.7; empty when it cannot be resolved.
	Reference string `json:"reference,omitempty"`
	// Repository is the ECR repository that mirrors Reference.
	Repository string `json:"repository,omitempty"`
	// Upstream is the image a mirror copies into Repository: Reference, or
	// for a reference already rewritten to ECR (docker-hub/library/python),
	// the image it mirrors (docker.io/library/python).
	Upstream string `json:"upstream,omitempty"`
	// URI is what the Dockerfile says after the rewrite, when it changes.
	URI    string `json:"uri,omitempty"`
	Status Status `json:"status"`
	// Note explains an unresolved, kept or excluded reference.
	Note    string `json:"note,omitempty"`
	OnBuild bool   `json:"onbuild,omitempty"`
	// BuildArg names the --build-arg whose value names the image, when the
	// reference is kept for that reason: docker build must then be given
	// the ECR image in it (BuildArgValue).
	BuildArg string `json:"build_arg,omitempty"`

	named reference.Named // parsed Reference
	stage int             // index of the stage holding it; -1 before the first FROM
	text  span            // bytes of Text in the file, when they can be edited in place
	// expanded is Text with the meta ARGs expanded; argValue is the value
	// of BuildArg.
	expanded, argValue string
}

// Mirrored reports whether the reference names an image that a mirror of
// this Dockerfile should copy into ECR.
func (r Ref) Mirrored() bool {
	return r.Upstream != "" && r.Status != StatusExcluded
}

// Target is the ECR image for the reference on registry host: the
// repository with the reference's tag and digest. With an empty host it is
// "/repository:tag".
func (r Ref) Target(host string) string {
	named := r.named
	if named == nil {
		var err error
		if named, err = reference.ParseNormalizedNamed(r.Reference); err != nil {
			return ""
		}
	}
	s := host + "/" + r.Repository
	if t, ok := named.(reference.Tagged); ok {
		s += ":" + t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		s += "@" + d.Digest().String()
	}
	return s
}

// BuildArgValue is the value BuildArg must have for the build to pull the
// image from ECR on registry host: --build-arg BASE_IMAGE=python:3.12
// becomes <host>/docker-hub/library/python:3.12, and with FROM $REPO:8.0,
// REPO=mcr.microsoft.com/dotnet/sdk becomes <host>/mcr.microsoft.com/dotnet/sdk.
// It is empty when no value gives exactly the ECR image.
func (r Ref) BuildArgValue(host string) string {
	if r.BuildArg == "" || r.Repository == "" || !strings.HasPrefix(r.expanded, r.argValue) {
		return ""
	}
	rest := r.expanded[len(r.argValue):]
	if rest == "" {
		return r.Target(host)
	}
	uri := host + "/" + r.Repository + splitSuffix(r.expanded)
	if !strings.HasSuffix(uri, rest) {
		return ""
	}
	return uri[:len(uri)-len(rest)]
}
