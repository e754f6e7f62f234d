package project

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"ecrbase/rewrite"
)

// Config says how Each treats the files.
type Config struct {
	// Options decide what the files pull and how they are rewritten; a
	// compose build's args are added for the Dockerfiles it builds.
	Options rewrite.Options
	// Stdin is read for the file named Stdin.
	Stdin io.Reader
	// Rewrite runs the edit plan of each Dockerfile too, giving
	// File.Result; without it Dockerfiles are only analysed. Compose files
	// always have their Result.
	Rewrite bool
	// Keep keeps each Dockerfile's Analysis in its File, to be rewritten
	// later without parsing it again (see Rewrite). It holds BuildKit's
	// parse of every file visited for as long as the caller keeps the
	// File; without Keep, a File holds no parse once visited.
	Keep bool
}

// File is one Dockerfile or compose file, as Each hands it to its visitor.
type File struct {
	Name string
	// Data is the file as read.
	Data    []byte
	Compose bool
	// Refs are the references found, with their status; Warnings are those
	// left as written that a person should know of.
	Refs     []rewrite.Ref
	Warnings []*rewrite.Error
	// Result is the rewritten file (Config.Rewrite, and compose files).
	Result *rewrite.Result
	// Analysis is the Dockerfile's analysis, with Config.Keep.
	Analysis *rewrite.Analysis
	// Err is why the file could not be read, analysed or rewritten: a
	// *rewrite.Error, located at its line when it has one.
	Err error
}

func (f *File) setResult(res *rewrite.Result) {
	f.Result, f.Refs, f.Warnings = res, res.Refs, res.Warnings
}

// FailedError is what Each returns when files failed.
type FailedError struct{ Failed, Total int }

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d file(s) failed", e.Failed, e.Total)
}

// analyze and rewriteFile are rewrite.Analyze and rewrite.File; tests
// count the parses through them.
var (
	analyze     = rewrite.Analyze
	rewriteFile = rewrite.File
)

// Each reads and analyses the files on every core (the work is per file),
// compose files first (they decide the build arguments of the Dockerfiles
// they build, and can bring in more files), and calls visit with each file
// in file order as results come in. visit sees every file once, one that
// failed too (File.Err set), so that it can report it; a file fails when
// it has Err or visit returns an error. The others still run, and the
// returned *FailedError says how many failed.
//
// Memory stays bounded by a few files, not by the tree: workers stay at
// most a few files ahead of visit, large files take turns being analysed,
// and Each keeps no File once visited.
func Each(ctx context.Context, files []string, cfg Config, visit func(*File) error) error {
	plan := planCompose(ctx, files, cfg)
	files = plan.files
	jobs := make([]*File, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	workers := runtime.GOMAXPROCS(0)
	analysing := semaphore.NewWeighted(rewrite.MaxSize)
	ahead := make(chan struct{}, 4*workers)
	var next atomic.Int64
	for range min(workers, len(files)) {
		go func() {
			for {
				ahead <- struct{}{}
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				name := files[i]
				if plan.isCompose[name] {
					jobs[i] = plan.results[name]
				} else {
					f := &File{Name: name}
					if f.Data, f.Err = Read(name, cfg.Stdin); f.Err == nil {
						// Analysing a file holds many times its size
						// (BuildKit's parse of it), so large files take turns.
						w := int64(len(f.Data))
						analysing.Acquire(context.Background(), w)
						f.analyse(plan.options(name, cfg.Options), cfg)
						analysing.Release(w)
					}
					jobs[i] = f
				}
				close(done[i])
			}
		}()
	}
	failed := 0
	for i := range files {
		<-done[i]
		f := jobs[i]
		jobs[i] = nil
		if err := visit(f); err != nil || f.Err != nil {
			failed++
		}
		<-ahead
	}
	if failed > 0 {
		return &FailedError{Failed: failed, Total: len(files)}
	}
	return nil
}

// analyse analyses a Dockerfile read into f.Data, and rewrites it with
// cfg.Rewrite.
func (f *File) analyse(opts rewrite.Options, cfg Config) {
	if cfg.Rewrite && !cfg.Keep {
		// The analysis is not kept: rewrite.File plans it in place.
		res, err := rewriteFile(f.Name, f.Data, opts)
		if err != nil {
			f.Err = err
			return
		}
		f.setResult(res)
		return
	}
	a, err := analyze(f.Name, f.Data, opts)
	if err != nil {
		f.Err = err
		return
	}
	if cfg.Rewrite {
		res, err := a.Rewrite()
		if err != nil {
			f.Err = err
			return
		}
		f.setResult(res)
	} else {
		f.Refs, f.Warnings = a.Refs(), a.Warnings()
	}
	if cfg.Keep {
		f.Analysis = a
	}
}
