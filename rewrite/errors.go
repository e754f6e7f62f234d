package rewrite

import (
	"errors"
	"fmt"

	"ecrbase/internal/registry"
)

// Error is a problem in one Dockerfile, located by line. Line is 0 when the
// problem concerns the whole file (for example, it cannot be read).
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors, matched with errors.Is.
var (
	// ErrBinary: the input holds NUL bytes. Text need not be UTF-8, as
	// BuildKit does not require it.
	ErrBinary = errors.New("binary file, not a Dockerfile")
	// ErrEmpty: the input has no instructions at all.
	ErrEmpty = errors.New("empty Dockerfile: no instructions")
	// ErrUnresolved: a reference needs a build argument that has no value
	// (returned only in strict mode).
	ErrUnresolved = errors.New("unresolved image reference")
	// ErrRepositoryName: a reference maps to a name ECR does not accept.
	ErrRepositoryName = registry.ErrRepositoryName
)
