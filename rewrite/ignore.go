package rewrite

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Ignore holds gitignore-style path patterns, each relative to the
// directory it was written for (the directory of .ecrbase.yaml, or the
// working directory for --ignore). Discover skips what they match.
//
// As in .gitignore: a pattern without a slash matches a name at any depth
// (Dockerfile.template, testdata); one with a slash is anchored to its
// directory (/vendor, eng/dockerfile-templates); a trailing slash matches
// directories only; * and ? do not cross a slash, ** does; [abc] is a
// class; ! re-includes what an earlier pattern excluded, though not a file
// whose directory is excluded; # starts a comment.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	base    string // absolute, cleaned
	re      *regexp.Regexp
	dirOnly bool
	negate  bool
}

// Add compiles patterns written relative to base.
func (ig *Ignore) Add(base string, patterns ...string) error {
	abs, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	for _, p := range patterns {
		r, ok, err := compileIgnore(p)
		if err != nil {
			return err
		}
		if ok {
			r.base = abs
			ig.rules = append(ig.rules, r)
		}
	}
	return nil
}

// CheckIgnorePattern reports whether p is a valid ignore pattern.
func CheckIgnorePattern(p string) error {
	_, _, err := compileIgnore(p)
	return err
}

func compileIgnore(p string) (ignoreRule, bool, error) {
	var r ignoreRule
	p = strings.TrimRight(p, " ")
	if p == "" || strings.HasPrefix(p, "#") {
		return r, false, nil
	}
	if strings.HasPrefix(p, "!") {
		r.negate, p = true, p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly, p = true, strings.TrimRight(p, "/")
	}
	if p == "" {
		return r, false, fmt.Errorf("ignore pattern %q matches nothing", p)
	}
	anchored := strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && strings.HasPrefix(p[i:], "**/") && (i == 0 || p[i-1] == '/'):
			b.WriteString("(?:.*/)?")
			i += 2
		case c == '*' && p[i:] == "**" && (i == 0 || p[i-1] == '/'):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(p[i+1:], ']')
			if j < 0 {
				return r, false, fmt.Errorf("ignore pattern %q: unterminated [", p)
			}
			class := p[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	// A match on a directory covers everything under it.
	b.WriteString("(?:/.*)?$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return r, false, fmt.Errorf("ignore pattern %q: %v", p, err)
	}
	r.re = re
	return r, true, nil
}

// Match reports whether path (a directory when dir is true) is ignored:
// the last pattern that matches it decides.
func (ig *Ignore) Match(path string, dir bool) bool {
	if ig == nil || len(ig.rules) == 0 {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	ignored := false
	for _, r := range ig.rules {
		rel, err := filepath.Rel(r.base, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		rel = filepath.ToSlash(rel)
		if r.dirOnly && !dir {
			// foo/ matches the directory, so the files under it.
			if i := strings.LastIndexByte(rel, '/'); i < 0 || !r.matchDir(rel[:i]) {
				continue
			}
		} else if !r.re.MatchString(rel) {
			continue
		}
		ignored = !r.negate
	}
	return ignored
}

// matchDir reports whether dir or one of its parents matches r.
func (r ignoreRule) matchDir(dir string) bool {
	for {
		if r.re.MatchString(dir) {
			return true
		}
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			return false
		}
		dir = dir[:i]
	}
}
