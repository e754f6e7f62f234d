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
)

// RateLimitError is a 429 TOOMANYREQUESTS from a source registry.
type RateLimitError struct {
	Registry   string
	Quota      *Quota        // last quota seen on that registry, if any
	RetryAfter time.Duration // the server's Retry-After, if any
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v (TOOMANYREQUESTS)", e.Registry, ErrRateLimited)
	if e.Quota != nil {
		fmt.Fprintf(&b, ", quota seen: %s", e.Quota)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
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
