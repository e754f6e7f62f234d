package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

// load is one file that include: or extends: makes compose's loader read.
type loadRef struct {
	path    string // absolute
	written string // as the compose file spells it
	key     string // include or extends
	line    int
}

// loadRefs lists the local files the include: and extends: sections of a
// compose file's documents load, with variables of their paths
// interpolated.
func loadRefs(name string, docs []*yaml.Node, env map[string]string) []loadRef {
	dir := filepath.Dir(absPath(name))
	var out []loadRef
	add := func(key string, n *yaml.Node) {
		p := n.Value
		if p == "" || remoteContext(p) || strings.HasPrefix(p, "oci://") {
			return
		}
		if v, err := substitute(p, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
			p = v
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		for _, r := range out {
			if r.path == p {
				return
			}
		}
		out = append(out, loadRef{path: p, written: n.Value, key: key, line: n.Line})
	}
	for _, doc := range docs {
		root := doc.Content[0]
		if inc, _ := lookup(root, "include", false); inc != nil && inc.Kind == yaml.SequenceNode {
			for _, item := range inc.Content {
				item = deref(item)
				switch item.Kind {
				case yaml.ScalarNode:
					add("include", item)
				case yaml.MappingNode:
					if p, _ := lookup(item, "path", false); p != nil {
						if p.Kind == yaml.ScalarNode {
							add("include", p)
						}
						for _, q := range p.Content {
							if q.Kind == yaml.ScalarNode {
								add("include", q)
							}
						}
					}
				}
			}
		}
		services, _ := lookup(root, "services", false)
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			if ext, _ := lookup(services.Content[i+1], "extends", false); ext != nil {
				if f, _ := lookup(ext, "file", false); f != nil && f.Kind == yaml.ScalarNode {
					add("extends", f)
				}
			}
		}
	}
	return out
}

// checkLoads vets, before compose's loader reads them, the files a compose
// file makes it read: those of include: and extends:, the files these load
// in turn, and the .env next to each included file. The loader reads any
// path it is given, whole; these rules are the ones every Dockerfile is
// read by: a file out of the compose file's tree (directly or through a
// symbolic link) is refused, as are a FIFO, a device and a file over
// rewrite.MaxSize, so that no compose file makes a command wait or
// exhaust memory. A file that does not exist is left to the loader.
func checkLoads(name string, docs []*yaml.Node, env map[string]string) error {
	tree, err := rewrite.Tree(name)
	if err != nil {
		return &rewrite.Error{File: name, Err: err}
	}
	seen := map[string]bool{absPath(name): true}
	var visit func(from string, docs []*yaml.Node, line int) error
	visit = func(from string, docs []*yaml.Node, line int) error {
		for _, r := range loadRefs(from, docs, env) {
			if seen[r.path] {
				continue
			}
			seen[r.path] = true
			at := line
			if at == 0 {
				at = r.line
			}
			fail := func(err error) error {
				return &rewrite.Error{File: name, Line: at, Err: fmt.Errorf("%s: %s: %v", r.key, short(r.written), err)}
			}
			data, err := readInTree(tree, r.path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fail(err)
			}
			if r.key == "include" {
				if err := checkDotEnv(tree, filepath.Join(filepath.Dir(r.path), ".env")); err != nil {
					return fail(fmt.Errorf(".env next to it: %v", err))
				}
			}
			sub, err := parseYAML(r.path, data)
			if err != nil {
				continue // the loader reports it
			}
			if err := visit(r.path, sub, at); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(name, docs, 0)
}

// readInTree reads a file the way rewrite.ReadFile reads a Dockerfile, and
// refuses it when it lies outside tree, links resolved.
func readInTree(tree, path string) ([]byte, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(tree, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		if real != filepath.Clean(path) {
			return nil, fmt.Errorf("%w: it leads to %s, outside %s", rewrite.ErrOutsideTree, real, tree)
		}
		return nil, fmt.Errorf("out of the tree %s, not read", tree)
	}
	data, err := rewrite.ReadFile(path)
	var re *rewrite.Error
	if errors.As(err, &re) {
		err = re.Err
	}
	return data, err
}

// checkDotEnv vets a .env file compose reads if it is there: a directory
// of that name is skipped, as compose skips it.
func checkDotEnv(tree, path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return nil
	}
	_, err := readInTree(tree, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// short is at most a short excerpt of a path as written.
func short(s string) string {
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' {
			return -1
		}
		return r
	}, s)
}
