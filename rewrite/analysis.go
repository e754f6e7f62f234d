package rewrite

import (
	"bytes"
	"slices"
)

// Analysis is what one Dockerfile pulls, found without editing it: every
// reference, located by byte span, with the status and URI the rewrite
// gives it, and the warnings a person should read. It is made once, by
// Analyze; Rewrite runs the edit plan over it as often as needed, for
// instance with the digests a mirror found, without parsing the file again.
//
// An Analysis holds the file's bytes and BuildKit's parse of them until it
// is dropped. It is not safe for concurrent use.
type Analysis struct {
	file *file  // as found, before any edit plan
	data []byte // the file as analysed
	// plan is the edit plan for the analysis options: the statuses of the
	// references are its decisions (kept, unresolved, the URI written), so
	// Analyze makes it, and Rewrite without options applies it.
	plan *editPlan
}

// Analyze parses a Dockerfile and finds the images it pulls, with BuildKit's
// rules, as File would rewrite them with opts; it edits nothing. File is
// Analyze followed by Rewrite, without keeping the analysis. Errors are
// *Error, located at their line, as those of File.
func Analyze(name string, data []byte, opts Options) (*Analysis, error) {
	f, err := analyze(name, data, opts)
	if err != nil {
		return nil, err
	}
	p, err := planCopy(f, f.opts)
	if err != nil {
		return nil, err
	}
	return &Analysis{file: f, data: data, plan: p}, nil
}

// Name is the file's name, as given to Analyze.
func (a *Analysis) Name() string { return a.file.name }

// Data is the file as analysed; Rewrite edits these bytes.
func (a *Analysis) Data() []byte { return a.data }

// Refs are the references found, in file order, with the status the
// rewrite gives them. Span locates each one in Data.
func (a *Analysis) Refs() []Ref { return slices.Clone(a.plan.refs) }

// Warnings are the references left as written that a person should know
// of, as Result.Warnings.
func (a *Analysis) Warnings() []*Error { return slices.Clone(a.plan.warnings) }

// Span is where Text is written in the file, as byte offsets [start, end);
// ok is false when the reference cannot be edited in place (it is split
// across lines, or found only once variables are expanded).
func (r Ref) Span() (start, end int, ok bool) {
	return r.text.start, r.text.end, r.text.end != 0
}

// PlanOption changes a setting of the edit plan that is learned after the
// analysis: Rewrite applies it. The analysis itself (what is pulled, with
// which build arguments, prefixes and filters) does not change.
type PlanOption func(*Options)

// WithPins adds the digests a mirror resolved (normalised reference to
// digest) to the rewritten references, as Options.Pins.
func WithPins(pins map[string]string) PlanOption {
	return func(o *Options) { o.Pins = pins }
}

// WithRegion sets the default written for the region build argument, as
// Options.Region.
func WithRegion(region string) PlanOption {
	return func(o *Options) { o.Region = region }
}

// Rewrite runs the edit plan over the analysis and returns the file
// rewritten: the bytes File would give for the same options, with opts
// applied. The analysis is left as it was, so it can be rewritten again.
func (a *Analysis) Rewrite(opts ...PlanOption) (*Result, error) {
	if len(opts) == 0 {
		// The analysis keeps its plan: the result gets copies.
		p := a.plan
		out := apply(a.data, slices.Clone(p.edits))
		return &Result{Output: out, Changed: !bytes.Equal(out, a.data), Refs: slices.Clone(p.refs), Warnings: slices.Clone(p.warnings)}, nil
	}
	o := a.file.opts
	for _, opt := range opts {
		opt(&o)
	}
	p, err := planCopy(a.file, o)
	if err != nil {
		return nil, err
	}
	out := apply(a.data, p.edits)
	return &Result{Output: out, Changed: !bytes.Equal(out, a.data), Refs: p.refs, Warnings: p.warnings}, nil
}
