// Command parseonly is the baseline for the rewrite throughput benchmark: it finds
// Dockerfiles under the given paths the way `ecrbase rewrite` does and parses each
// with BuildKit's parser, doing nothing else. `ecrbase rewrite --check` over the same
// tree is measured against it, whole process against whole process.
package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// isDockerfile matches Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile and Containerfile.
func isDockerfile(name string) bool {
	return name == "Dockerfile" || strings.HasPrefix(name, "Dockerfile.") ||
		strings.HasSuffix(name, ".Dockerfile") || strings.HasSuffix(name, ".dockerfile") ||
		name == "Containerfile"
}

func main() {
	files, nodes := 0, 0
	status := 0
	for _, root := range os.Args[1:] {
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
			if !d.Type().IsRegular() || !isDockerfile(d.Name()) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			res, err := parser.Parse(bytes.NewReader(b))
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
				status = 1
				return nil
			}
			files++
			nodes += len(res.AST.Children)
			return nil
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "walking %s: %v\n", root, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "parsed %d files, %d instructions\n", files, nodes)
	os.Exit(status)
}
