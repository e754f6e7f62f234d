package project

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"ecrbase/rewrite"
)

// Stdin is the name that reads a file from standard input.
const Stdin = "-"

// ErrNoFiles: the paths hold no Dockerfile or compose file.
var ErrNoFiles = errors.New("no Dockerfile or compose file found")

// Discover expands paths (default ".") into the Dockerfiles and compose
// files under them, skipping those ig ignores. Finding none is ErrNoFiles.
func Discover(paths []string, ig *rewrite.Ignore) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, err := rewrite.DiscoverIgnoring(paths, ig)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &noFilesError{paths}
	}
	return files, nil
}

type noFilesError struct{ paths []string }

func (e *noFilesError) Error() string {
	return ErrNoFiles.Error() + " in " + strings.Join(e.paths, " ")
}
func (e *noFilesError) Unwrap() error { return ErrNoFiles }

// Read reads a Dockerfile or compose file, bounded as rewrite.ReadFile
// reads; the name Stdin reads stdin. Errors are *rewrite.Error.
func Read(name string, stdin io.Reader) ([]byte, error) {
	if name != Stdin {
		return rewrite.ReadFile(name)
	}
	data, err := rewrite.ReadAll(stdin)
	if err != nil {
		return nil, &rewrite.Error{File: name, Err: err}
	}
	return data, nil
}

// LinkNote says which file a symbolic link led the rewrite to, as
// " (a symbolic link to TARGET)"; it is empty for any other file.
func LinkNote(name string) string {
	if fi, err := os.Lstat(name); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return ""
	}
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return ""
	}
	return " (a symbolic link to " + target + ")"
}

// OneLine is an error's message on a single line (rewrite.OneLine).
func OneLine(err error) string { return rewrite.OneLine(err.Error()) }

// Warning is the line that reports a warning: "FILE:LINE: warning: ...".
func Warning(e *rewrite.Error) string {
	return fmt.Sprintf("%s:%d: warning: %s", e.File, e.Line, OneLine(e.Err))
}
