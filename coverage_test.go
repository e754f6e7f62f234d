package main

import (
	"slices"
	"strings"
)

// checkedFiles are the files named by rewrite --check's "file:line image
// why" lines, in order, each once.
func checkedFiles(out string) []string {
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		loc, _, _ := strings.Cut(line, " ")
		if i := strings.LastIndexByte(loc, ':'); i > 0 {
			loc = loc[:i]
		}
		if loc != "" && !slices.Contains(files, loc) {
			files = append(files, loc)
		}
	}
	return files
}
