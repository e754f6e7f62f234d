package project

import (
	"fmt"
	"strings"

	"ecrbase/rewrite"
)

// Check is what `rewrite --check` finds over the files: the pulls that do
// not go to ECR, and whether they fail the check. Visit it with each file
// in order, then ask Err.
type Check struct {
	// Strict fails the check on pulls the rewrite leaves upstream (kept,
	// unresolved, a # syntax= frontend) too.
	Strict bool
	// PreCommit names the pre-commit hook in the fix hint: under pre-commit
	// ecrbase is usually not on PATH.
	PreCommit bool

	changed, upstream int
}

// FixHint says how to rewrite the files the check listed.
func (c *Check) FixHint() string {
	if c.PreCommit {
		return "run pre-commit run ecrbase-rewrite --all-files"
	}
	return "run ecrbase rewrite -w"
}

// File counts f and returns the lines the check lists for it, each pull
// that does not go to ECR as "file:line image why", with any word longer
// than a real reference cut as in error messages. The warnings of f that a
// listed line already says are dropped from f.Warnings, so each such pull
// is reported once. A nil Check lists nothing.
func (c *Check) File(f *File) []string {
	if c == nil {
		return nil
	}
	res := f.Result
	if res.Changed {
		c.changed++
	}
	type at struct {
		file string
		line int
	}
	var lines []string
	listed := map[at]bool{}
	for _, r := range res.Refs {
		var why string
		switch r.Status {
		case rewrite.StatusRewrite:
			if r.URI == "" {
				continue
			}
			why = "not pulled from ECR yet: " + c.FixHint()
		case rewrite.StatusKept, rewrite.StatusUnresolved:
			why = r.Note
			c.upstream++
			listed[at{r.File, r.Line}] = true
		default:
			continue
		}
		lines = append(lines, rewrite.OneLine(fmt.Sprintf("%s:%d %s %s", r.File, r.Line, r.Text, why)))
	}
	if len(listed) > 0 {
		var keep []*rewrite.Error
		for _, w := range f.Warnings {
			if !listed[at{w.File, w.Line}] {
				keep = append(keep, w)
			}
		}
		f.Warnings = keep
	}
	return lines
}

// CheckError is a failed check: files can still be rewritten, or with
// Strict pulls stay upstream.
type CheckError struct{ why []string }

func (e *CheckError) Error() string { return strings.Join(e.why, "; ") }

// Err is the outcome of the check over the files visited: nil, or a
// *CheckError.
func (c *Check) Err() error {
	var why []string
	if c.changed > 0 {
		why = append(why, fmt.Sprintf("%d file(s) do not pull from ECR yet: %s", c.changed, c.FixHint()))
	}
	if c.Strict && c.upstream > 0 {
		why = append(why, fmt.Sprintf("%d pull(s) stay upstream after the rewrite (--strict)", c.upstream))
	}
	if len(why) == 0 {
		return nil
	}
	return &CheckError{why}
}
