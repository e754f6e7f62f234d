package project

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"ecrbase/compose"
	"ecrbase/rewrite"
)

func init() {
	// compose-go and BuildKit log through logrus; ecrbase reports what
	// matters itself, with file and line.
	logrus.SetOutput(io.Discard)
}

// composePlan holds the compose files among a command's inputs, rewritten
// before the Dockerfiles: their build: sections decide which build
// arguments those Dockerfiles are resolved with, and bring in Dockerfiles
// and included files the search did not find.
type composePlan struct {
	files     []string
	isCompose map[string]bool
	results   map[string]*File
	args      map[string]map[string]string // absolute Dockerfile path: build.args
}

// planCompose rewrites the compose files among files (and those their
// include: and extends: load, within the working directory) and returns
// the complete list of inputs.
func planCompose(ctx context.Context, files []string, cfg Config) *composePlan {
	p := &composePlan{isCompose: map[string]bool{}, results: map[string]*File{}, args: map[string]map[string]string{}}
	known := map[string]bool{}
	for _, f := range files {
		known[absOf(f)] = true
		if f != Stdin && rewrite.IsComposeFile(filepath.Base(f)) {
			p.isCompose[f] = true
		}
	}
	p.files = slices.Clone(files)
	cwd, _ := os.Getwd()
	inRepo := func(abs string) (string, bool) {
		rel, err := filepath.Rel(cwd, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", false
		}
		info, err := os.Stat(abs)
		return rel, err == nil && info.Mode().IsRegular()
	}
	for i := 0; i < len(p.files); i++ {
		name := p.files[i]
		if !p.isCompose[name] {
			continue
		}
		f := &File{Name: name, Compose: true}
		f.Data, f.Err = Read(name, cfg.Stdin)
		if f.Err == nil {
			var res *compose.Result
			res, f.Err = compose.File(ctx, name, f.Data, compose.Options{Options: cfg.Options})
			if f.Err == nil {
				f.setResult(&res.Result)
				for _, b := range res.Builds {
					if _, ok := p.args[b.Dockerfile]; !ok {
						p.args[b.Dockerfile] = b.Args
					}
					if rel, ok := inRepo(b.Dockerfile); ok && !known[b.Dockerfile] {
						known[b.Dockerfile] = true
						p.files = append(p.files, rel)
					}
				}
				for _, r := range res.Related {
					if rel, ok := inRepo(r); ok && !known[r] {
						known[r] = true
						p.files = append(p.files, rel)
						p.isCompose[rel] = true
					}
				}
			}
		}
		p.results[name] = f
	}
	return p
}

// options are the rewrite options for one Dockerfile: a compose build's
// args apply, and --build-arg wins over them.
func (p *composePlan) options(name string, opts rewrite.Options) rewrite.Options {
	args, ok := p.args[absOf(name)]
	if !ok || len(args) == 0 {
		return opts
	}
	merged := maps.Clone(args)
	maps.Copy(merged, opts.BuildArgs)
	opts.BuildArgs = merged
	return opts
}

func absOf(name string) string {
	if name == Stdin {
		return name
	}
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return name
}
