package project

import (
	"context"
	"fmt"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// Sources are where the images of mirror and replication --backfill come
// from.
type Sources struct {
	// Paths are Dockerfiles, compose files and directories. They are read
	// when given, or when neither Images nor Catalog names an image ("."
	// then).
	Paths []string
	// Ignore gives the patterns of the files a directory search skips; it
	// is called only when the paths are searched.
	Ignore func() (*rewrite.Ignore, error)
	// Images are references such as python:3.12 (--image).
	Images []string
	// Catalog is a catalogue file (ReadCatalog); Stdin reads Config.Stdin.
	Catalog string
}

// InputError is an image named by reference or in a catalogue that cannot
// be mirrored: the user's to fix.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Report is how a caller hears of each file a gathering visits, in file
// order: err is the file's error (its Err, or why visiting it failed), and
// what Report returns is the file's outcome.
type Report func(f *File, err error) error

// Gather adds the images of src to im. Each Dockerfile goes to im.Visit,
// then to report. failed is the *FailedError of the Dockerfiles that failed,
// which stop no other; err stops the command: the paths hold no file
// (ErrNoFiles), or an *InputError.
func (im *Images) Gather(ctx context.Context, src Sources, cfg Config, report Report) (failed, err error) {
	if len(src.Paths) > 0 || (len(src.Images) == 0 && src.Catalog == "") {
		var ig *rewrite.Ignore
		if src.Ignore != nil {
			if ig, err = src.Ignore(); err != nil {
				return nil, err
			}
		}
		files, err := Discover(src.Paths, ig)
		if err != nil {
			return nil, err
		}
		cfg.Keep = im.Keep
		failed = Each(ctx, files, cfg, func(f *File) error { return report(f, im.Visit(f)) })
	}
	for _, ref := range src.Images {
		if err := im.Add(ref); err != nil {
			return nil, &InputError{fmt.Errorf("--image %s: %w", ref, err)}
		}
	}
	if src.Catalog != "" {
		if err := im.AddCatalog(src.Catalog, cfg.Stdin); err != nil {
			return nil, &InputError{err}
		}
	}
	return failed, nil
}

// MirrorPlan is how mirror --rewrite rewrites the files once the images
// are in ECR: the region of the settings, else the one the mirror used,
// and with pin each image's digest in ECR.
func MirrorPlan(rep *ecr.Report, region string, pin bool) []rewrite.PlanOption {
	if region == "" {
		region = rep.Region
	}
	plan := []rewrite.PlanOption{rewrite.WithRegion(region)}
	if pin {
		pins := map[string]string{}
		for _, r := range rep.Images {
			if r.Digest != "" {
				pins[r.Source] = r.Digest
			}
		}
		plan = append(plan, rewrite.WithPins(pins))
	}
	return plan
}
