package ecr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors that callers may test for with errors.Is.
var (
	// ErrNoRegion means no region was given and the SDK found none.
	ErrNoRegion = errors.New("no AWS region configured")
	// ErrRateLimited means the source answered 429 TOOMANYREQUESTS: the pull
	// window is used up. The error text gives the quota seen.
	ErrRateLimited = errors.New("pull rate limit reached")
	// ErrPullBudget means the counted pulls needed exceed the quota left, so
	// nothing was pulled.
	ErrPullBudget = errors.New("not enough pulls left")
	// ErrSourceUnreachable means the source answered 429 or 5xx, or the
	// connection failed, while ECR did not have the image.
	ErrSourceUnreachable = errors.New("source unreachable")
	// ErrSourceNotFound means the source registry does not have the image.
	ErrSourceNotFound = errors.New("source image not found")
	// ErrNoPlatform means an index has none of the requested platforms.
	ErrNoPlatform = errors.New("no manifest for the requested platforms")
	// ErrScanFindings means a scan found vulnerabilities at or above the
	// FailOn severity.
	ErrScanFindings = errors.New("scan findings at or above threshold")
	// ErrScan means scan results could not be obtained in time.
	ErrScan = errors.New("no scan results")
	// ErrTimeout means a registry or the AWS API stayed silent for longer
	// than the timeout (WithTimeout), retries included.
	ErrTimeout = errors.New("timed out")
	// ErrDigestMismatch means a source served manifest bytes that do not
	// hash to the digest it announced; nothing was written.
	ErrDigestMismatch = errors.New("manifest does not match its announced digest")
	// ErrTarget means ECR (its registry, its API or the login to it) failed
	// while the source was read fine.
	ErrTarget = errors.New("ECR could not be written")
)

// TargetError is a failure on the ECR side: the registry, the API or the
// login.
type TargetError struct {
	Op  string // what was being done, e.g. "writing manifest sha256:..."
	Err error
}

func (e *TargetError) Error() string { return "ECR side: " + e.Op + ": " + e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }
func (e *TargetError) Is(target error) bool {
	return target == ErrTarget
}

// targetErr wraps err as a TargetError unless it already is one.
func targetErr(op string, err error) error {
	var te *TargetError
	if errors.As(err, &te) {
		return err
	}
	return &TargetError{Op: op, Err: err}
}

// DigestError is manifest bytes that do not hash to the digest the source
// announced for them.
type DigestError struct {
	URL       string // what was read
	Announced string // Docker-Content-Digest, or the digest asked for
	Got       string // digest of the bytes served
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: %v: the bytes served hash to %s, the source announced %s; not copied", e.URL, ErrDigestMismatch, e.Got, e.Announced)
}

func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// RateLimitError is a 429 from a source registry.
type RateLimitError struct {
	Registry string
	// PullLimit is set for Docker Hub's pull limit: TOOMANYREQUESTS with a
	// quota in the ratelimit-* headers. Without it the 429 came bare, as
	// Docker Hub's abuse limit (too many requests of any kind from one
	// address) sends it, and waiting for the pull window does not help.
	PullLimit  bool
	Quota      *Quota        // last quota seen on that registry, if any
	RetryAfter time.Duration // the server's Retry-After, if any
	Waited     time.Duration // how long this image waited on 429s before giving up
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	if e.PullLimit {
		fmt.Fprintf(&b, "%s: %v (TOOMANYREQUESTS)", e.Registry, ErrRateLimited)
	} else {
		fmt.Fprintf(&b, "%s: 429 too many requests without a pull quota: the registry's abuse limit on requests, not the pull window", e.Registry)
	}
	if e.Quota != nil {
		fmt.Fprintf(&b, ", quota seen: %s", e.Quota)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Waited > 0 {
		fmt.Fprintf(&b, ", gave up after waiting %s", e.Waited.Round(time.Millisecond))
	}
	return b.String()
}

func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// MirrorError is returned by Mirror when one or more images failed; the
// others were still mirrored. errors.Is looks through every image's error.
type MirrorError struct {
	Total  int
	Images []error
}

func (e *MirrorError) Error() string {
	msgs := make([]string, len(e.Images))
	for i, err := range e.Images {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("mirroring: %d of %d images failed: %s", len(e.Images), e.Total, strings.Join(msgs, "; "))
}

func (e *MirrorError) Unwrap() []error { return e.Images }

// imageError names the image an error belongs to and hides credentials.
type imageError struct {
	source string
	err    error
	red    *redactor
}

func (e *imageError) Error() string { return e.red.String(e.source + ": " + e.err.Error()) }
func (e *imageError) Unwrap() error { return e.err }

// redactedError hides credentials in an error's text.
type redactedError struct {
	err error
	red *redactor
}

func (e *redactedError) Error() string { return e.red.String(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }
