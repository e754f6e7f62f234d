// Command parseonly is the baseline for the rewrite throughput benchmark: it finds
// Dockerfiles under the given paths the way `ecrbase rewrite` does and parses each
// with BuildKit's parser, doing nothing else. `ecrbase rewrite --check` over the same
// tree is measured against it, whole process against whole process.
//
//	parseonly [-j N] PATH...
//
// -j N parses on N goroutines (default 1), the baseline for a rewrite that uses
// every core.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// isDockerfile matches Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile and Containerfile.
func isDockerfile(name string) bool {
	return name == "Dockerfile" || strings.HasPrefix(name, "Dockerfile.") ||
		strings.HasSuffix(name, ".Dockerfile") || strings.HasSuffix(name, ".dockerfile") ||
		name == "Containerfile"
}

func find(roots []string) ([]string, error) {
	var files []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", "vendor", "node_modules":
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && isDockerfile(d.Name()) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", root, err)
		}
	}
	return files, nil
}

func main() {
	jobs := flag.Int("j", 1, "files parsed at once")
	flag.Parse()
	files, err := find(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var nodes, failed atomic.Int64
	next := make(chan string)
	var wg sync.WaitGroup
	for range max(*jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range next {
				b, err := os.ReadFile(path)
				if err == nil {
					var res *parser.Result
					if res, err = parser.Parse(bytes.NewReader(b)); err == nil {
						nodes.Add(int64(len(res.AST.Children)))
						continue
					}
				}
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
				failed.Add(1)
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	fmt.Fprintf(os.Stderr, "parsed %d files, %d instructions\n", int64(len(files))-failed.Load(), nodes.Load())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
