package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/agext/levenshtein"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"ecrbase/ecr"
	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

// The repository configuration file, .ecrbase.yaml, holds the settings that
// decide what a rewritten Dockerfile says and what gets mirrored, so that
// CodeBuild, the pre-commit hook and a laptop agree without flags. Flags and
// environment variables still win over it; see the README.

// configNames are the file names looked up, in this order, in each directory
// from the working directory up to the repository root.
var configNames = []string{".ecrbase.yaml", ".ecrbase.yml"}

// configVersion is the only schema version this ecrbase reads.
const configVersion = 1

// maxConfigSize bounds what is read; a real configuration is a few hundred
// bytes.
const maxConfigSize = 1 << 20

// Sentinel errors of the configuration file, matched with errors.Is.
var (
	// errUnknownField: a field the schema does not have, usually a typo.
	errUnknownField = errors.New("unknown field")
	// errConfigVersion: the version field is missing or not one this
	// ecrbase reads.
	errConfigVersion = errors.New("unsupported configuration version")
	// errCredential: a field that looks like a credential.
	errCredential = errors.New("credential in the configuration file")
)

// credentialSources says where credentials come from instead of the file.
const credentialSources = "credentials never go in this file: AWS credentials come from the AWS SDK's default chain " +
	"(environment, shared profile, SSO, web identity, CodeBuild, instance role), " +
	"Docker Hub's from DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, " +
	"other registries' from the Docker config file and its credential helpers"

// configError is a problem in the configuration file, located by line.
type configError struct {
	File string
	Line int
	Err  error
	kind error // one of the sentinels above, or nil
}

func (e *configError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, oneLine(e.Err))
	}
	return fmt.Sprintf("%s: %s", e.File, oneLine(e.Err))
}

func (e *configError) Unwrap() error { return e.Err }

func (e *configError) Is(target error) bool { return target != nil && target == e.kind }

// fileConfig is a parsed configuration file. A field whose Line is 0 was not
// in the file. The zero value, for no file, sets nothing.
type fileConfig struct {
	// Path names the file in messages: as given to --config, else relative
	// to the working directory. Dir is its directory, absolute.
	Path string
	Dir  string

	AccountArg value[string]
	RegionArg  value[string]
	Region     value[string]
	Prefixes   []pair
	Exclude    value[[]string]
	Only       value[[]string]
	Syntax     value[string]
	OnBuild    value[string]
	Strict     value[bool]
	BuildArgs  []pair
	// Ignore are gitignore-style patterns relative to Dir: Dockerfiles
	// that discovery skips.
	Ignore value[[]string]

	Platforms          value[[]string]
	RegistryMirrors    []pair
	InsecureRegistries value[[]string]
	ContentSources     value[[]pair] // registry -> URL, in order of preference; set and empty turns them off

	ScanOnPush     value[bool]
	TagMutability  value[string]
	KMSKey         value[string]
	RepositoryTags []pair
	// LifecyclePolicy is the policy file's path, resolved relative to the
	// configuration file; it is read only by the commands that create
	// repositories.
	LifecyclePolicy value[string]

	// ReplicationTo are the destinations of `ecrbase replication`.
	ReplicationTo value[[]string]
}

// value is one setting of the file and the line it is on.
type value[T any] struct {
	V    T
	Line int
}

func (v value[T]) set() bool { return v.Line > 0 }

// pair is one entry of a mapping setting (prefixes, build_args, ...).
type pair struct {
	Key, Value string
	Line       int
}

// field is one key of a mapping in the schema.
type field struct {
	name   string
	decode func(d *decoder, n *yaml.Node) error
}

// topFields is the schema of the file's top level; the README describes
// each field.
var topFields = []field{
	{"version", func(d *decoder, n *yaml.Node) error { return nil }}, // checked first, in parse
	{"account_arg", func(d *decoder, n *yaml.Node) error { return d.argName(n, "account_arg", &d.cfg.AccountArg) }},
	{"region_arg", func(d *decoder, n *yaml.Node) error { return d.argName(n, "region_arg", &d.cfg.RegionArg) }},
	{"region", func(d *decoder, n *yaml.Node) error { return d.region(n) }},
	{"prefixes", func(d *decoder, n *yaml.Node) error { return d.pairs(n, "prefixes", &d.cfg.Prefixes, checkPrefix) }},
	{"exclude", func(d *decoder, n *yaml.Node) error { return d.list(n, "exclude", &d.cfg.Exclude, checkPattern) }},
	{"only", func(d *decoder, n *yaml.Node) error { return d.list(n, "only", &d.cfg.Only, checkHost) }},
	{"syntax", func(d *decoder, n *yaml.Node) error { return d.syntax(n) }},
	{"onbuild", func(d *decoder, n *yaml.Node) error { return d.onbuild(n) }},
	{"strict", func(d *decoder, n *yaml.Node) error { return d.boolean(n, "strict", &d.cfg.Strict) }},
	{"build_args", func(d *decoder, n *yaml.Node) error { return d.pairs(n, "build_args", &d.cfg.BuildArgs, checkBuildArg) }},
	{"ignore", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "ignore", &d.cfg.Ignore, rewrite.CheckIgnorePattern)
	}},
	{"platforms", func(d *decoder, n *yaml.Node) error { return d.list(n, "platforms", &d.cfg.Platforms, checkPlatform) }},
	{"registry_mirrors", func(d *decoder, n *yaml.Node) error {
		return d.pairs(n, "registry_mirrors", &d.cfg.RegistryMirrors, checkMirror)
	}},
	{"insecure_registries", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "insecure_registries", &d.cfg.InsecureRegistries, checkHost)
	}},
	{"content_sources", func(d *decoder, n *yaml.Node) error { return d.contentSources(n) }},
	{"repository", func(d *decoder, n *yaml.Node) error { return d.mapping(n, "repository", repositoryFields) }},
	{"replication", func(d *decoder, n *yaml.Node) error { return d.mapping(n, "replication", replicationFields) }},
}

// replicationFields is the schema of `replication:`, what `ecrbase
// replication` sets.
var replicationFields = []field{
	{"to", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "replication.to", &d.cfg.ReplicationTo, checkDestination)
	}},
}

// checkDestination checks a replication destination, REGION[:ACCOUNT].
func checkDestination(s string) error {
	_, err := ecr.ParseDestination(s)
	return err
}

// repositoryFields is the schema of `repository:`, the settings of the
// repositories mirror creates in ECR.
var repositoryFields = []field{
	{"scan_on_push", func(d *decoder, n *yaml.Node) error {
		return d.boolean(n, "repository.scan_on_push", &d.cfg.ScanOnPush)
	}},
	{"tag_mutability", func(d *decoder, n *yaml.Node) error { return d.tagMutability(n) }},
	{"kms_key", func(d *decoder, n *yaml.Node) error {
		return d.str(n, "repository.kms_key", &d.cfg.KMSKey, checkKMSKey)
	}},
	{"tags", func(d *decoder, n *yaml.Node) error {
		return d.pairs(n, "repository.tags", &d.cfg.RepositoryTags, checkRepositoryTag)
	}},
	{"lifecycle_policy", func(d *decoder, n *yaml.Node) error { return d.lifecyclePolicy(n) }},
}

// fieldHints answer top-level names a user is likely to try.
var fieldHints = map[string]string{
	"account":    "the account is not a file setting: it comes from --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN or STS",
	"account_id": "the account is not a file setting: it comes from --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN or STS",
}

// findConfig looks for a configuration file in dir and its parents, stopping
// at the directory that holds .git (the repository root) or at the
// filesystem root. It returns "" when there is none.
func findConfig(dir string) (string, error) {
	for {
		var found []string
		for _, name := range configNames {
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

// configCache holds each file loaded by this process, keyed by the explicit
// path and the working directory, so that commands that run both the
// rewrite and the mirror read it once.
var configCache struct {
	sync.Mutex
	m map[string]configResult
}

type configResult struct {
	cfg *fileConfig
	err error
}

// loadConfig returns the configuration that applies to this command: the
// file named by --config or ECRBASE_CONFIG, else the nearest .ecrbase.yaml.
// With no file it returns an empty configuration.
func loadConfig(c *cli.Context) (*fileConfig, error) {
	explicit := c.String("config")
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("finding the configuration file: %w", err)
	}
	key := explicit + "\x00" + wd
	configCache.Lock()
	defer configCache.Unlock()
	if r, ok := configCache.m[key]; ok {
		return r.cfg, r.err
	}
	cfg, err := readConfig(explicit, wd)
	if configCache.m == nil {
		configCache.m = map[string]configResult{}
	}
	configCache.m[key] = configResult{cfg, err}
	return cfg, err
}

func readConfig(explicit, wd string) (*fileConfig, error) {
	file, shown := explicit, explicit
	if file == "" {
		found, err := findConfig(wd)
		if err != nil || found == "" {
			return &fileConfig{}, err
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
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading configuration %s: %w", shown, err)
	}
	if len(data) > maxConfigSize {
		return nil, &configError{File: shown, Err: fmt.Errorf("larger than %d bytes: not an ecrbase configuration", maxConfigSize)}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	return parseConfig(shown, filepath.Dir(abs), data)
}

// decoder turns the YAML tree into a fileConfig, naming file:line in every
// error.
type decoder struct {
	cfg *fileConfig
	dir string // the file's directory, for relative paths
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) error {
	return &configError{File: d.cfg.Path, Line: n.Line, Err: fmt.Errorf(format, args...)}
}

// fail is errorf for the errors a sentinel names.
func (d *decoder) fail(n *yaml.Node, kind error, format string, args ...any) error {
	return &configError{File: d.cfg.Path, Line: n.Line, Err: fmt.Errorf(format, args...), kind: kind}
}

// yamlLine is how yaml.v3 locates a syntax error. It is compiled only on
// that error: compiling at start-up would cost every pre-commit run.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// parseConfig parses a configuration file. name is how messages name it;
// dir is its directory, against which relative paths in it resolve.
func parseConfig(name, dir string, data []byte) (*fileConfig, error) {
	d := &decoder{cfg: &fileConfig{Path: name, Dir: dir}, dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &configError{File: name, Err: fmt.Errorf("empty file: start it with \"version: %d\"", configVersion), kind: errConfigVersion}
		}
		msg := err.Error()
		if m := yamlLine().FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		}
		return nil, &configError{File: name, Err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &configError{File: name, Line: extra.Line, Err: errors.New("a second YAML document: the file holds one")}
	} else if !errors.Is(err, io.EOF) {
		return nil, &configError{File: name, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
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
		return nil, &configError{File: name, Err: fmt.Errorf("empty file: start it with \"version: %d\"", configVersion), kind: errConfigVersion}
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

// resolve follows YAML aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return "a string"
}

// version checks `version:` before any other field, so that a file written
// for a later schema gets a version error rather than unknown fields.
func (d *decoder) version(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if k.Value != "version" {
			continue
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
			return d.fail(v, errConfigVersion, "version must be the number %d, got %s", configVersion, kind(v))
		}
		if v.Value != fmt.Sprint(configVersion) {
			return d.fail(v, errConfigVersion, "unsupported version %s: this ecrbase reads version %d", v.Value, configVersion)
		}
		return nil
	}
	return d.fail(root, errConfigVersion, "missing \"version: %d\", the schema version", configVersion)
}

// fields decodes a mapping against a schema: every key must be known and
// appear once.
func (d *decoder) fields(n *yaml.Node, prefix string, schema []field) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k, "want a field name, got %s", kind(k))
		}
		name := k.Value
		if first, ok := seen[name]; ok {
			return d.errorf(k, "field %q repeated (first on line %d)", prefix+name, first)
		}
		seen[name] = k.Line
		f := lookupField(schema, name)
		if f == nil {
			return d.fail(k, errUnknownField, "unknown field %q%s", prefix+name, suggest(name, prefix, schema))
		}
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			continue // an empty field is as if it were absent
		}
		if err := f.decode(d, v); err != nil {
			return err
		}
	}
	return nil
}

func lookupField(schema []field, name string) *field {
	for i := range schema {
		if schema[i].name == name {
			return &schema[i]
		}
	}
	return nil
}

// suggest names the field a typo most likely meant.
func suggest(name, prefix string, schema []field) string {
	if h, ok := fieldHints[name]; ok && prefix == "" {
		return ": " + h
	}
	if prefix == "" && lookupField(repositoryFields, name) != nil {
		return fmt.Sprintf(" (it belongs under repository: as repository.%s)", name)
	}
	best, bestDist := "", math.MaxInt
	for _, f := range schema {
		if dist := levenshtein.Distance(strings.ToLower(name), f.name, nil); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if bestDist <= 2 || bestDist <= len(best)/3 {
		return fmt.Sprintf(" (did you mean %q?)", prefix+best)
	}
	return ""
}

func (d *decoder) mapping(n *yaml.Node, name string, schema []field) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: want a mapping, got %s", name, kind(n))
	}
	return d.fields(n, name+".", schema)
}

// scalar returns the text of a string scalar.
func (d *decoder) scalar(n *yaml.Node, name string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", d.errorf(n, "%s: want a string, got %s", name, kind(n))
	}
	return n.Value, nil
}

func (d *decoder) str(n *yaml.Node, name string, dst *value[string], check func(string) error) error {
	s, err := d.scalar(n, name)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(s); err != nil {
			return d.errorf(n, "%s: %v", name, err)
		}
	}
	*dst = value[string]{s, n.Line}
	return nil
}

func (d *decoder) boolean(n *yaml.Node, name string, dst *value[bool]) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return d.errorf(n, "%s: want true or false, got %s", name, kind(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return d.errorf(n, "%s: %v", name, err)
	}
	*dst = value[bool]{b, n.Line}
	return nil
}

func (d *decoder) list(n *yaml.Node, name string, dst *value[[]string], check func(string) error) error {
	if n.Kind != yaml.SequenceNode {
		return d.errorf(n, "%s: want a list, such as [a, b], got %s", name, kind(n))
	}
	items := []string{}
	for _, item := range n.Content {
		item = resolve(item)
		s, err := d.scalar(item, name)
		if err != nil {
			return err
		}
		if err := check(s); err != nil {
			return d.errorf(item, "%s: %v", name, err)
		}
		items = append(items, s)
	}
	*dst = value[[]string]{items, n.Line}
	return nil
}

// pairs decodes a mapping of names to values. Values may be any scalar, so
// that `NODE_VERSION: 20` needs no quotes.
func (d *decoder) pairs(n *yaml.Node, name string, dst *[]pair, check func(k, v string) error) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: want a mapping, such as {key: value}, got %s", name, kind(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k, "%s: want a name, got %s", name, kind(k))
		}
		if first, ok := seen[k.Value]; ok {
			return d.errorf(k, "%s.%s repeated (first on line %d)", name, k.Value, first)
		}
		seen[k.Value] = k.Line
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			return d.errorf(v, "%s.%s: want a value, got %s (quote an empty one: \"\")", name, k.Value, kind(v))
		}
		if err := check(k.Value, v.Value); err != nil {
			return d.errorf(k, "%s.%s: %v", name, k.Value, err)
		}
		*dst = append(*dst, pair{k.Value, v.Value, k.Line})
	}
	return nil
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

func (d *decoder) argName(n *yaml.Node, name string, dst *value[string]) error {
	return d.str(n, name, dst, func(s string) error {
		if !registry.ValidArgName(s) {
			return fmt.Errorf("%q is not a build argument name (letters, digits and _, not starting with a digit)", s)
		}
		return nil
	})
}

// isRegion reports whether s has the form of an AWS region: us-east-1,
// us-gov-west-1, cn-north-1.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, p := range parts {
		last := i == len(parts)-1
		if p == "" || strings.IndexFunc(p, func(r rune) bool {
			return last && !isDigit(r) || !last && !(r >= 'a' && r <= 'z')
		}) >= 0 {
			return false
		}
	}
	return true
}

func (d *decoder) region(n *yaml.Node) error {
	return d.str(n, "region", &d.cfg.Region, func(s string) error {
		if !isRegion(s) {
			return fmt.Errorf("%q is not an AWS region such as us-east-1 (leave region out for no default)", s)
		}
		return nil
	})
}

func (d *decoder) syntax(n *yaml.Node) error {
	return d.str(n, "syntax", &d.cfg.Syntax, func(s string) error {
		switch rewrite.SyntaxMode(s) {
		case rewrite.SyntaxKeep, rewrite.SyntaxLiteral:
			return nil
		}
		return fmt.Errorf("%q: want keep or literal", s)
	})
}

func (d *decoder) onbuild(n *yaml.Node) error {
	return d.str(n, "onbuild", &d.cfg.OnBuild, func(s string) error {
		switch rewrite.OnBuildMode(s) {
		case rewrite.OnBuildKeep, rewrite.OnBuildLiteral:
			return nil
		}
		return fmt.Errorf("%q: want keep or literal", s)
	})
}

func (d *decoder) tagMutability(n *yaml.Node) error {
	err := d.str(n, "repository.tag_mutability", &d.cfg.TagMutability, func(s string) error {
		_, err := registry.TagMutability(s)
		return err
	})
	d.cfg.TagMutability.V = strings.ToUpper(d.cfg.TagMutability.V)
	return err
}

func (d *decoder) lifecyclePolicy(n *yaml.Node) error {
	err := d.str(n, "repository.lifecycle_policy", &d.cfg.LifecyclePolicy, func(s string) error {
		if s == "" {
			return errors.New("want the path of a lifecycle policy JSON file")
		}
		return nil
	})
	if err == nil && !filepath.IsAbs(d.cfg.LifecyclePolicy.V) {
		d.cfg.LifecyclePolicy.V = filepath.Join(d.dir, d.cfg.LifecyclePolicy.V)
	}
	return err
}

func checkPrefix(host, prefix string) error {
	if err := checkHost(host); err != nil {
		return err
	}
	if p := strings.Trim(prefix, "/"); p != "" {
		// Any image name must still make a valid repository under it.
		if err := registry.CheckRepository(p + "/x"); err != nil {
			return fmt.Errorf("%q is not a valid ECR repository prefix (lowercase letters, digits, and . _ - / between them)", prefix)
		}
	}
	return nil
}

func checkPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil || p == "" {
		return fmt.Errorf("%q is not a valid pattern (path.Match syntax)", p)
	}
	return nil
}

func checkHost(h string) error { return registry.CheckHost(h) }

func checkBuildArg(k, _ string) error {
	if !registry.ValidArgName(k) {
		return errors.New("not a build argument name (letters, digits and _, not starting with a digit)")
	}
	return nil
}

func checkPlatform(p string) error {
	_, err := registry.ParsePlatform(p)
	return err
}

// checkMirror checks a mirror entry with the rule mirror applies. Whether
// plain HTTP is allowed depends on the insecure registries in effect, which
// flags may change, so that part is checked once settings are resolved
// (mirrorConfig). A user:password@ is refused here, where the URL is
// committed; a flag or environment variable may carry one (checkMirrorFlag).
func checkMirror(reg, base string) error {
	if err := registry.CheckNoUser(base); err != nil {
		return err
	}
	if _, err := registry.ParseMirror(reg, base, nil); err != nil && !errors.Is(err, registry.ErrPlainHTTP) {
		return err
	}
	return nil
}

func checkKMSKey(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return errors.New("want a KMS key ARN, ID or alias")
	}
	return nil
}

func checkRepositoryTag(k, v string) error {
	switch {
	case k == "" || len(k) > 128:
		return errors.New("tag keys have 1 to 128 characters")
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return errors.New("tag keys starting with aws: are reserved by AWS")
	case len(v) > 256:
		return errors.New("tag values have at most 256 characters")
	}
	return nil
}

// credentials refuses any key that names a credential and any value that
// looks like one, anywhere in the file. Messages name the field, never the
// value.
func (d *decoder) credentials(n *yaml.Node, at string) error {
	// An alias names a node scanned where it is defined; following it
	// would make nested aliases cost exponential time.
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			if at != "" {
				name = at + "." + k.Value
			}
			if k.Kind == yaml.ScalarNode && credentialName(k.Value) {
				return d.fail(k, errCredential, "%s looks like a credential; %s", name, credentialSources)
			}
			if err := d.credentials(k, at); err != nil {
				return err
			}
			if err := d.credentials(v, name); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := d.credentials(item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if credentialValue(n.Value) {
			if at == "" {
				at = "a field name"
			}
			return d.fail(n, errCredential, "the value of %s looks like a credential; %s", at, credentialSources)
		}
	}
	return nil
}

// credentialWords are words of a field name that say it holds a credential.
var credentialWords = map[string]bool{
	"token": true, "tokens": true, "password": true, "passwords": true, "passwd": true, "pwd": true,
	"passphrase": true, "secret": true, "secrets": true, "credential": true, "credentials": true,
	"creds": true, "cred": true, "auth": true, "auths": true, "authorization": true, "bearer": true,
	"key": true, "keys": true, "apikey": true, "privatekey": true, "accesskey": true, "secretkey": true,
}

// credentialParts are spellings that say the same when words are run
// together (DOCKERHUBTOKEN, apiKey).
var credentialParts = []string{"token", "password", "passwd", "secret", "credential", "apikey", "accesskey", "privatekey"}

// credentialName reports whether a field name looks like it holds a
// credential. kms_key names a key, it does not hold one.
func credentialName(name string) bool {
	words := nameWords(name)
	if len(words) == 2 && words[0] == "kms" && words[1] == "key" {
		return false
	}
	for _, w := range words {
		if credentialWords[w] {
			return true
		}
	}
	compact := strings.Join(words, "")
	for _, p := range credentialParts {
		if strings.Contains(compact, p) {
			return true
		}
	}
	return false
}

// nameWords splits snake_case, kebab-case, dotted and camelCase names into
// lower-case words.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prev := rune(0)
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}

// accessKeyPrefixes start AWS access key IDs: long-term AKIA, temporary
// ASIA, and the other documented kinds.
var accessKeyPrefixes = []string{"AKIA", "ASIA", "ABIA", "ACCA"}

// tokenPrefixes start well-known registry and forge tokens.
var tokenPrefixes = []string{"dckr_pat_", "dckr_oat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"}

func isWordByte(c byte) bool { return c == '_' || isLetter(rune(c)) || isDigit(rune(c)) }

// hasAccessKeyID reports whether s holds an AWS access key ID as a word:
// a known prefix and 16 more characters of base32.
func hasAccessKeyID(s string) bool {
	for i := 0; i+20 <= len(s); i++ {
		if !slices.Contains(accessKeyPrefixes, s[i:i+4]) || (i > 0 && isWordByte(s[i-1])) || (i+20 < len(s) && isWordByte(s[i+20])) {
			continue
		}
		if strings.IndexFunc(s[i+4:i+20], func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') }) < 0 {
			return true
		}
	}
	return false
}

// hasToken reports whether s holds a known token: its prefix at the start of
// a word, then at least 8 token characters.
func hasToken(s string) bool {
	for _, p := range tokenPrefixes {
		for at := 0; ; {
			i := strings.Index(s[at:], p)
			if i < 0 {
				break
			}
			i += at
			rest := s[i+len(p):]
			n := strings.IndexFunc(rest, func(r rune) bool { return !isLetter(r) && !isDigit(r) && r != '_' && r != '-' })
			if n < 0 {
				n = len(rest)
			}
			if (i == 0 || !isWordByte(s[i-1])) && n >= 8 {
				return true
			}
			at = i + 1
		}
	}
	return false
}

// isOpaque reports whether s is a long run of base64 or base64url
// characters.
func isOpaque(s string) bool {
	body := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	return len(body) >= 32 && strings.IndexFunc(body, func(r rune) bool {
		return !isLetter(r) && !isDigit(r) && r != '+' && r != '/' && r != '_' && r != '-'
	}) < 0
}

// credentialValue reports whether a value looks like a secret: an AWS access
// key ID, a known token format, a URL with a password, or a long random
// base64 string (an AWS secret key has 40 characters of about 5 bits each).
func credentialValue(s string) bool {
	if hasAccessKeyID(s) || hasToken(s) {
		return true
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
	}
	if !isOpaque(s) {
		return false
	}
	var upper, lower, digit bool
	for _, r := range s {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	return upper && lower && digit && entropy(s) >= 4.5
}

// entropy is the Shannon entropy of s in bits per character. Random base64
// is near 5 and more; words run together in camelCase stay near 4.
func entropy(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

// source says where an effective setting came from.
type source struct {
	Kind string `json:"source"`         // flag, env, file or default
	Flag string `json:"flag,omitempty"` // for flag: --region
	Env  string `json:"env,omitempty"`  // for env: AWS_REGION
	File string `json:"file,omitempty"` // for file
	Line int    `json:"line,omitempty"` // for file
}

func (s source) String() string {
	switch s.Kind {
	case "flag":
		return "flag " + s.Flag
	case "env":
		return "env " + s.Env
	case "file":
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return "default"
}

var defaultSource = source{Kind: "default"}

// flagSource reports whether the command's flag name was given, on the
// command line or through one of its environment variables, and which.
// urfave/cli's IsSet is true for both; the value tells them apart, since a
// flag on the command line replaces the environment's value.
func flagSource(c *cli.Context, name string) (source, bool) {
	f := lookupFlag(c, name)
	if f == nil || !c.IsSet(name) {
		return source{}, false
	}
	if ef, ok := f.(interface{ GetEnvVars() []string }); ok {
		for _, env := range ef.GetEnvVars() {
			v, ok := os.LookupEnv(env)
			if !ok {
				continue
			}
			if fromEnv(c, f, name, v) {
				return source{Kind: "env", Env: env}, true
			}
			break // urfave/cli reads only the first variable that is set
		}
	}
	return source{Kind: "flag", Flag: "--" + name}, true
}

// lookupFlag finds the definition of a flag of this command or its parents.
func lookupFlag(c *cli.Context, name string) cli.Flag {
	var sets [][]cli.Flag
	for _, x := range c.Lineage() {
		if x.Command != nil {
			sets = append(sets, x.Command.Flags)
		}
	}
	if c.App != nil {
		sets = append(sets, c.App.Flags)
	}
	for _, flags := range sets {
		for _, f := range flags {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
	}
	return nil
}

// fromEnv reports whether the flag's value is the one its environment
// variable gives.
func fromEnv(c *cli.Context, f cli.Flag, name, env string) bool {
	switch f.(type) {
	case *cli.StringSliceFlag:
		var want []string
		for _, s := range strings.Split(env, ",") {
			want = append(want, strings.TrimSpace(s))
		}
		return slices.Equal(c.StringSlice(name), want)
	case *cli.BoolFlag:
		b, err := strconv.ParseBool(env)
		return (env == "" && !c.Bool(name)) || (err == nil && b == c.Bool(name))
	case *cli.StringFlag, *cli.PathFlag:
		return c.String(name) == env
	}
	return true
}

// resolver applies the precedence flag > environment > file > default.
type resolver struct {
	c   *cli.Context
	cfg *fileConfig
}

func (r resolver) fileAt(line int) source { return source{Kind: "file", File: r.cfg.Path, Line: line} }

func (r resolver) str(flag string, v value[string], def string) (string, source) {
	if s, ok := flagSource(r.c, flag); ok {
		return r.c.String(flag), s
	}
	if v.set() {
		return v.V, r.fileAt(v.Line)
	}
	return def, defaultSource
}

func (r resolver) boolean(flag string, v value[bool], def bool) (bool, source) {
	if s, ok := flagSource(r.c, flag); ok {
		return r.c.Bool(flag), s
	}
	if v.set() {
		return v.V, r.fileAt(v.Line)
	}
	return def, defaultSource
}

// list resolves a list setting. A list given by flag or environment replaces
// the file's list as a whole.
func (r resolver) list(flag string, v value[[]string]) ([]string, source) {
	if s, ok := flagSource(r.c, flag); ok {
		var out []string
		for _, item := range r.c.StringSlice(flag) {
			out = append(out, strings.Split(item, ",")...)
		}
		return out, s
	}
	if v.set() {
		return slices.Clone(v.V), r.fileAt(v.Line)
	}
	return nil, defaultSource
}

// pairs resolves a mapping setting key by key: entries given by flag or
// environment win, and the file's entries for other keys still apply, so
// that one --build-arg does not drop the file's defaults. norm, when set,
// says which keys are the same (index.docker.io is docker.io).
func (r resolver) pairs(flag string, given map[string]string, file []pair, norm func(string) string) (map[string]string, map[string]source) {
	if norm == nil {
		norm = func(s string) string { return s }
	}
	out, src := map[string]string{}, map[string]source{}
	have := map[string]bool{}
	if len(given) > 0 {
		s, ok := flagSource(r.c, flag)
		if !ok {
			s = defaultSource
		}
		for k, v := range given {
			out[k], src[k] = v, s
			have[norm(k)] = true
		}
	}
	for _, p := range file {
		if !have[norm(p.Key)] {
			out[p.Key], src[p.Key] = p.Value, r.fileAt(p.Line)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, src
}

// region is --region (or ECRBASE_REGION), else the file's region, else the
// ambient AWS_REGION or AWS_DEFAULT_REGION: a developer's shell must not
// change what the repository's file says, but with no file the variables
// the SDK reads count, in its order, so that rewrite and config agree with
// build-args and mirror.
func (r resolver) region() (string, source) {
	v, s := r.str("region", r.cfg.Region, "")
	if v == "" && s.Kind == "default" {
		if env, from := registry.EnvRegion(os.Getenv); env != "" {
			return env, source{Kind: "env", Env: from}
		}
	}
	return v, s
}

// applyConfig fills the naming options that no flag or environment variable
// set from the configuration file, else from the built-in defaults.
// options calls it last, so every command that names images (images,
// rewrite, mirror, build-args) agrees with the others.
func applyConfig(c *cli.Context, opts *rewrite.Options) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r := resolver{c, cfg}
	opts.AccountArg, _ = r.str("account-arg", cfg.AccountArg, registry.DefaultAccountArg)
	opts.RegionArg, _ = r.str("region-arg", cfg.RegionArg, registry.DefaultRegionArg)
	opts.Region, _ = r.region()
	opts.Prefixes, _ = r.pairs("prefix", opts.Prefixes, cfg.Prefixes, registry.Normalize)
	opts.Exclude, _ = r.list("exclude", cfg.Exclude)
	opts.Only, _ = r.list("only", cfg.Only)
	syntax, _ := r.str("syntax", cfg.Syntax, string(rewrite.SyntaxKeep))
	opts.Syntax = rewrite.SyntaxMode(syntax)
	onbuild, _ := r.str("onbuild", cfg.OnBuild, string(rewrite.OnBuildKeep))
	opts.OnBuild = rewrite.OnBuildMode(onbuild)
	opts.Strict, _ = r.boolean("strict", cfg.Strict, false)
	opts.BuildArgs, _ = r.pairs("build-arg", opts.BuildArgs, cfg.BuildArgs, nil)
	return nil
}

// mirrorConfig returns the ecr option that applies the configuration file's
// mirror settings that no flag or environment variable set: platforms,
// registry mirrors, insecure registries, the region, and the settings of
// created repositories. Append it after the options built from flags. The
// lifecycle policy file is read here, so a missing one is reported before
// any work starts.
func mirrorConfig(c *cli.Context) (ecr.Option, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	policy := ""
	if _, ok := flagSource(c, "lifecycle-policy"); !ok && cfg.LifecyclePolicy.set() {
		if policy, err = readLifecyclePolicy(cfg); err != nil {
			return nil, err
		}
	}
	if err := checkFileMirrors(c, cfg); err != nil {
		return nil, err
	}
	r := resolver{c, cfg}
	return func(o *ecr.Options) {
		if _, ok := flagSource(c, "region"); !ok && cfg.Region.set() {
			o.Region = cfg.Region.V
		}
		if _, ok := flagSource(c, "platform"); !ok && cfg.Platforms.set() {
			o.Platforms = slices.Clone(cfg.Platforms.V)
		}
		o.Mirrors, _ = r.pairs("registry-mirror", o.Mirrors, cfg.RegistryMirrors, registry.Normalize)
		if _, ok := flagSource(c, "insecure-registry"); !ok && cfg.InsecureRegistries.set() {
			o.Insecure = slices.Clone(cfg.InsecureRegistries.V)
		}
		contentSourcesFromFile(c, cfg, o)
		if _, ok := flagSource(c, "scan-on-push"); !ok && cfg.ScanOnPush.set() {
			o.ScanOnPush = cfg.ScanOnPush.V
		}
		if _, ok := flagSource(c, "tag-mutability"); !ok && cfg.TagMutability.set() {
			o.TagMutability = cfg.TagMutability.V
		}
		if _, ok := flagSource(c, "kms-key"); !ok && cfg.KMSKey.set() {
			o.KMSKey = cfg.KMSKey.V
		}
		o.RepositoryTags, _ = r.pairs("repo-tag", o.RepositoryTags, cfg.RepositoryTags, nil)
		if policy != "" {
			o.LifecyclePolicy = policy
		}
	}, nil
}

// checkFileMirrors checks the file's registry mirrors that no flag
// replaces against the insecure registries in effect, with the rule mirror
// applies, so that a plain-HTTP mirror is refused at its line.
func checkFileMirrors(c *cli.Context, cfg *fileConfig) error {
	insecure := cfg.InsecureRegistries.V
	if _, ok := flagSource(c, "insecure-registry"); ok {
		insecure = c.StringSlice("insecure-registry")
	}
	given, err := pairs(c, "registry-mirror")
	if err != nil {
		return err
	}
	replaced := map[string]bool{}
	for k := range given {
		replaced[registry.Normalize(k)] = true
	}
	for _, p := range cfg.RegistryMirrors {
		if replaced[registry.Normalize(p.Key)] {
			continue
		}
		if _, err := registry.ParseMirror(p.Key, p.Value, insecure); err != nil {
			return &configError{File: cfg.Path, Line: p.Line, Err: fmt.Errorf("registry_mirrors.%s: %w", p.Key, err)}
		}
	}
	return nil
}

// readLifecyclePolicy reads the lifecycle policy file the configuration
// names.
func readLifecyclePolicy(cfg *fileConfig) (string, error) {
	policy, err := readPolicyFile(cfg.LifecyclePolicy.V)
	if err != nil {
		return "", &configError{File: cfg.Path, Line: cfg.LifecyclePolicy.Line, Err: fmt.Errorf("repository.lifecycle_policy %s: %w", cfg.LifecyclePolicy.V, err)}
	}
	return policy, nil
}

// readPolicyFile reads a lifecycle policy file, from --lifecycle-policy or
// the configuration file, and checks it with the rule mirror applies, so a
// broken policy stops the command before any repository is created.
func readPolicyFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	if err := registry.CheckLifecyclePolicy(data); err != nil {
		return "", err
	}
	return string(data), nil
}
