package project

import (
	"context"
	"errors"

	"ecrbase/compose"
	"ecrbase/rewrite"
)

// errNotKept: Rewrite was given a Dockerfile without its analysis.
var errNotKept = errors.New("no analysis kept from discovery (Config.Keep)")

// Rewrite runs the edit plan, with opts (a mirror's pins and region), over
// files that Each visited without error with Config.Keep, and calls visit
// with each in order, its Result set. A Dockerfile is neither read nor
// parsed again: its analysis from discovery is rewritten, and a file
// changed on disk since then is caught when written (rewrite.WithOriginal
// with File.Data refuses it) instead of being rewritten unseen. A compose
// file is planned again by compose's loader from the bytes read then,
// since the URIs it writes depend on opts.
//
// As Each, a file fails when it has Err or visit returns an error, and the
// returned *FailedError says how many did. Each file's Analysis is dropped
// once visited.
func Rewrite(ctx context.Context, files []*File, cfg Config, visit func(*File) error, opts ...rewrite.PlanOption) error {
	copts := cfg.Options
	for _, opt := range opts {
		opt(&copts)
	}
	failed := 0
	for _, f := range files {
		var res *rewrite.Result
		var err error
		switch {
		case f.Compose:
			var cres *compose.Result
			if cres, err = compose.File(ctx, f.Name, f.Data, compose.Options{Options: copts}); err == nil {
				res = &cres.Result
			}
		case f.Analysis == nil:
			err = &rewrite.Error{File: f.Name, Err: errNotKept}
		default:
			res, err = f.Analysis.Rewrite(opts...)
		}
		f.Err = err
		if err == nil {
			f.setResult(res)
		}
		if err := visit(f); err != nil || f.Err != nil {
			failed++
		}
		f.Analysis = nil
	}
	if failed > 0 {
		return &FailedError{Failed: failed, Total: len(files)}
	}
	return nil
}
