package settings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

// fileNames are the file names looked up, in this order, in each directory
// from the working directory up to the repository root.
var fileNames = []string{".ecrbase.yaml", ".ecrbase.yml"}

// schemaVersion is the only schema version this ecrbase reads.
const schemaVersion = 1

// maxSize bounds what is read; a real configuration is a few hundred
// bytes.
const maxSize = 1 << 20

// Sentinel errors of the configuration file, matched with errors.Is.
var (
	// ErrUnknownField: a field the schema does not have, usually a typo.
	ErrUnknownField = errors.New("unknown field")
	// ErrVersion: the version field is missing or not one this
	// ecrbase reads.
	ErrVersion = errors.New("unsupported configuration version")
	// ErrCredential: a field that looks like a credential.
	ErrCredential = errors.New("credential in the configuration file")
	// ErrAlias: the file uses a YAML alias.
	ErrAlias = errors.New("YAML alias in the configuration file")
)

// credentialSources says where credentials come from instead of the file.
const credentialSources = "credentials never go in this file: AWS credentials come from the AWS SDK's default chain " +
	"(environment, shared profile, SSO, web identity, CodeBuild, instance role), " +
	"Docker Hub's from DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, " +
	"other registries' from the Docker config file and its credential helpers"

// Error is a problem in the configuration file, located by line.
type Error struct {
	File string
	Line int
	Err  error
	kind error // one of the sentinels above, or nil
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, rewrite.OneLine(e.Err.Error()))
	}
	return fmt.Sprintf("%s: %s", e.File, rewrite.OneLine(e.Err.Error()))
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Is(target error) bool { return target != nil && target == e.kind }

// File is a parsed configuration file. A field whose Line is 0 was not
// in the file. The zero value, for no file, sets nothing.
type File struct {
	// Path names the file in messages: as given to --config, else relative
	// to the working directory. Dir is its directory, absolute.
	Path string
	Dir  string

	AccountArg Value[string]
	RegionArg  Value[string]
	Region     Value[string]
	Prefixes   []Pair
	Exclude    Value[[]string]
	Only       Value[[]string]
	Syntax     Value[string]
	OnBuild    Value[string]
	Strict     Value[bool]
	BuildArgs  []Pair
	// Ignore are gitignore-style patterns relative to Dir: Dockerfiles
	// that discovery skips.
	Ignore Value[[]string]

	Platforms          Value[[]string]
	RegistryMirrors    []Pair
	InsecureRegistries Value[[]string]
	ContentSources     Value[[]Pair] // registry -> URL, in order of preference; set and empty turns them off

	ScanOnPush     Value[bool]
	TagMutability  Value[string]
	KMSKey         Value[string]
	RepositoryTags []Pair
	// LifecyclePolicy is the policy file's path, resolved relative to the
	// configuration file; it is read only by the commands that create
	// repositories.
	LifecyclePolicy Value[string]

	// ReplicationTo are the destinations of `ecrbase replication`.
	ReplicationTo Value[[]string]
}

// Value is one setting of the file and the line it is on.
type Value[T any] struct {
	V    T
	Line int
}

// Set reports whether the file has the setting.
func (v Value[T]) Set() bool { return v.Line > 0 }

// Pair is one entry of a mapping setting (prefixes, build_args, ...).
type Pair struct {
	Key, Value string
	Line       int
}

// Find looks for a configuration file in dir and its parents, stopping
// at the directory that holds .git (the repository root) or at the
// filesystem root. It returns "" when there is none.
func Find(dir string) (string, error) {
	for {
		var found []string
		for _, name := range fileNames {
			p := filepath.Join(dir, name)
			info, err := os.Stat(p)
			switch {
			case err == nil && !info.IsDir():
				found = append(found, p)
			case err != nil && !errors.Is(err, fs.ErrNotExist):
				return "", fmt.Errorf("looking for %s: %w", p, err)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 2:
			return "", fmt.Errorf("both %s and %s exist: keep one", found[0], found[1])
		}
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return "", nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// Load reads the configuration that applies: the file explicit names (as
// given to --config or ECRBASE_CONFIG), else the nearest .ecrbase.yaml from
// wd up to the repository root. With no file it returns an empty File.
func Load(explicit, wd string) (*File, error) {
	file, shown := explicit, explicit
	if file == "" {
		found, err := Find(wd)
		if err != nil || found == "" {
			return &File{}, err
		}
		file = found
		if rel, err := filepath.Rel(wd, found); err == nil {
			shown = rel
		} else {
			shown = found
		}
	}
	f, err := rewrite.OpenRegular(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading configuration %s: %w", shown, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading configuration %s: %w", shown, err)
	}
	if len(data) > maxSize {
		return nil, &Error{File: shown, Err: fmt.Errorf("larger than %d bytes: not an ecrbase configuration", maxSize)}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	return Parse(shown, filepath.Dir(abs), data)
}

// decoder turns the YAML tree into a File, naming file:line in every
// error.
type decoder struct {
	cfg *File
	dir string // the file's directory, for relative paths
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: d.cfg.Path, Line: n.Line, Err: fmt.Errorf(format, args...)}
}

// fail is errorf for the errors a sentinel names.
func (d *decoder) fail(n *yaml.Node, kind error, format string, args ...any) error {
	return &Error{File: d.cfg.Path, Line: n.Line, Err: fmt.Errorf(format, args...), kind: kind}
}

// yamlLine is how yaml.v3 locates a syntax error. It is compiled only on
// that error: compiling at start-up would cost every pre-commit run.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// Parse parses a configuration file. name is how messages name it;
// dir is its directory, against which relative paths in it resolve.
func Parse(name, dir string, data []byte) (*File, error) {
	d := &decoder{cfg: &File{Path: name, Dir: dir}, dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Err: fmt.Errorf("empty file: start it with \"version: %d\"", schemaVersion), kind: ErrVersion}
		}
		msg := err.Error()
		if m := yamlLine().FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		}
		return nil, &Error{File: name, Err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: name, Line: extra.Line, Err: errors.New("a second YAML document: the file holds one")}
	} else if !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if err := d.noAliases(&doc); err != nil {
		return nil, err
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolve(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &Error{File: name, Err: fmt.Errorf("empty file: start it with \"version: %d\"", schemaVersion), kind: ErrVersion}
	}
	if root.Kind != yaml.MappingNode {
		return nil, d.errorf(root, "want a mapping of settings, got %s", kind(root))
	}
	// Credentials are refused before anything else, so that no later message
	// can echo one.
	if err := d.credentials(root, ""); err != nil {
		return nil, err
	}
	if err := d.version(root); err != nil {
		return nil, err
	}
	if err := d.fields(root, "", topFields); err != nil {
		return nil, err
	}
	return d.cfg, nil
}
