package rewrite

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsDockerfile reports whether a file name is one that Discover collects:
// Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile and Containerfile.
func IsDockerfile(name string) bool {
	switch {
	case name == "Dockerfile", name == "Containerfile":
		return true
	case strings.HasPrefix(name, "Dockerfile."), strings.HasPrefix(name, "Containerfile."):
		return true
	case strings.HasSuffix(name, ".Dockerfile"), strings.HasSuffix(name, ".dockerfile"):
		return true
	}
	return false
}

// skipDirs are never searched: they hold other people's Dockerfiles.
var skipDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true}

// Discover expands paths into Dockerfiles: a directory is searched
// recursively, a file is taken as it is and "-" (standard input) is kept.
// The result is sorted within each directory and has no duplicates. A path
// that cannot be read is kept, so that reading it reports why.
func Discover(paths []string) ([]string, error) {
	return DiscoverIgnoring(paths, nil)
}

// DiscoverIgnoring is Discover, skipping in directory searches the files
// and directories ig matches. A file named in paths is always taken.
func DiscoverIgnoring(paths []string, ig *Ignore) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil || !info.IsDir() {
			// Reading it reports the problem for this path alone.
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && (skipDirs[d.Name()] || ig.Match(path, true)) {
					return filepath.SkipDir
				}
				return nil
			}
			if IsDockerfile(d.Name()) && d.Type().IsRegular() && !ig.Match(path, false) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(p string) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		return false
	}), nil
}

// WriteFile replaces path with data atomically: the bytes go to a temporary
// file in the same directory, which is then renamed over path, keeping its
// mode; a symbolic link is followed. A failure leaves the original
// untouched.
func WriteFile(path string, data []byte) (err error) {
	// A link stays a link: the file it points at is the one rewritten.
	if path, err = filepath.EvalSymlinks(path); err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".ecrbase-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
