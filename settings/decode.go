package settings

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/agext/levenshtein"
	"gopkg.in/yaml.v3"
)

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
	{"prefixes", func(d *decoder, n *yaml.Node) error { return d.pairs(n, "prefixes", &d.cfg.Prefixes, CheckPrefix) }},
	{"exclude", func(d *decoder, n *yaml.Node) error { return d.list(n, "exclude", &d.cfg.Exclude, CheckPattern) }},
	{"only", func(d *decoder, n *yaml.Node) error { return d.list(n, "only", &d.cfg.Only, CheckHost) }},
	{"syntax", func(d *decoder, n *yaml.Node) error { return d.syntax(n) }},
	{"onbuild", func(d *decoder, n *yaml.Node) error { return d.onbuild(n) }},
	{"strict", func(d *decoder, n *yaml.Node) error { return d.boolean(n, "strict", &d.cfg.Strict) }},
	{"build_args", func(d *decoder, n *yaml.Node) error { return d.pairs(n, "build_args", &d.cfg.BuildArgs, CheckBuildArg) }},
	{"ignore", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "ignore", &d.cfg.Ignore, CheckIgnore)
	}},
	{"platforms", func(d *decoder, n *yaml.Node) error { return d.list(n, "platforms", &d.cfg.Platforms, CheckPlatform) }},
	{"registry_mirrors", func(d *decoder, n *yaml.Node) error {
		return d.pairs(n, "registry_mirrors", &d.cfg.RegistryMirrors, CheckMirror)
	}},
	{"insecure_registries", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "insecure_registries", &d.cfg.InsecureRegistries, CheckHost)
	}},
	{"content_sources", func(d *decoder, n *yaml.Node) error { return d.contentSources(n) }},
	{"repository", func(d *decoder, n *yaml.Node) error { return d.mapping(n, "repository", repositoryFields) }},
	{"replication", func(d *decoder, n *yaml.Node) error { return d.mapping(n, "replication", replicationFields) }},
}

// replicationFields is the schema of `replication:`, what `ecrbase
// replication` sets.
var replicationFields = []field{
	{"to", func(d *decoder, n *yaml.Node) error {
		return d.list(n, "replication.to", &d.cfg.ReplicationTo, CheckDestination)
	}},
}

// repositoryFields is the schema of `repository:`, the settings of the
// repositories mirror creates in ECR.
var repositoryFields = []field{
	{"scan_on_push", func(d *decoder, n *yaml.Node) error {
		return d.boolean(n, "repository.scan_on_push", &d.cfg.ScanOnPush)
	}},
	{"tag_mutability", func(d *decoder, n *yaml.Node) error { return d.tagMutability(n) }},
	{"kms_key", func(d *decoder, n *yaml.Node) error {
		return d.str(n, "repository.kms_key", &d.cfg.KMSKey, CheckKMSKey)
	}},
	{"tags", func(d *decoder, n *yaml.Node) error {
		return d.pairs(n, "repository.tags", &d.cfg.RepositoryTags, CheckRepositoryTag)
	}},
	{"lifecycle_policy", func(d *decoder, n *yaml.Node) error { return d.lifecyclePolicy(n) }},
}

// fieldHints answer top-level names a user is likely to try.
var fieldHints = map[string]string{
	"account":    "the account is not a file setting: it comes from --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN or STS",
	"account_id": "the account is not a file setting: it comes from --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN or STS",
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
			return d.fail(v, ErrVersion, "version must be the number %d, got %s", schemaVersion, kind(v))
		}
		if v.Value != fmt.Sprint(schemaVersion) {
			return d.fail(v, ErrVersion, "unsupported version %s: this ecrbase reads version %d", v.Value, schemaVersion)
		}
		return nil
	}
	return d.fail(root, ErrVersion, "missing \"version: %d\", the schema version", schemaVersion)
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
			return d.fail(k, ErrUnknownField, "unknown field %q%s", prefix+name, suggest(name, prefix, schema))
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

func (d *decoder) str(n *yaml.Node, name string, dst *Value[string], check func(string) error) error {
	s, err := d.scalar(n, name)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(s); err != nil {
			return d.errorf(n, "%s: %v", name, err)
		}
	}
	*dst = Value[string]{s, n.Line}
	return nil
}

func (d *decoder) boolean(n *yaml.Node, name string, dst *Value[bool]) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return d.errorf(n, "%s: want true or false, got %s", name, kind(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return d.errorf(n, "%s: %v", name, err)
	}
	*dst = Value[bool]{b, n.Line}
	return nil
}

func (d *decoder) list(n *yaml.Node, name string, dst *Value[[]string], check func(string) error) error {
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
	*dst = Value[[]string]{items, n.Line}
	return nil
}

// pairs decodes a mapping of names to values. Values may be any scalar, so
// that `NODE_VERSION: 20` needs no quotes.
func (d *decoder) pairs(n *yaml.Node, name string, dst *[]Pair, check func(k, v string) error) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: want a mapping, such as {key: value}, got %s", name, kind(n))
	}
	return d.entries(n, name, "a name", func(k, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			return d.errorf(v, "%s.%s: want a value, got %s (quote an empty one: \"\")", name, k.Value, kind(v))
		}
		if err := check(k.Value, v.Value); err != nil {
			return d.errorf(k, "%s.%s: %v", name, k.Value, err)
		}
		*dst = append(*dst, Pair{k.Value, v.Value, k.Line})
		return nil
	})
}

// entries calls fn on each key and value of the mapping n (aliases
// followed), in order, after refusing a key that is not keyWhat, a
// scalar, or that repeats an earlier one.
func (d *decoder) entries(n *yaml.Node, name, keyWhat string, fn func(k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k, "%s: want %s, got %s", name, keyWhat, kind(k))
		}
		if first, ok := seen[k.Value]; ok {
			return d.errorf(k, "%s.%s repeated (first on line %d)", name, k.Value, first)
		}
		seen[k.Value] = k.Line
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) argName(n *yaml.Node, name string, dst *Value[string]) error {
	return d.str(n, name, dst, func(s string) error {
		if err := CheckArgName(s); err != nil {
			return fmt.Errorf("%q is %w", s, err)
		}
		return nil
	})
}

func (d *decoder) region(n *yaml.Node) error {
	return d.str(n, "region", &d.cfg.Region, func(s string) error {
		if err := CheckRegion(s); err != nil {
			return fmt.Errorf("%q is %w (leave region out for no default)", s, err)
		}
		return nil
	})
}

// quoted names the value in front of a check's message.
func quoted(check func(string) error) func(string) error {
	return func(s string) error {
		if err := check(s); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		return nil
	}
}

func (d *decoder) syntax(n *yaml.Node) error {
	return d.str(n, "syntax", &d.cfg.Syntax, quoted(CheckSyntax))
}

func (d *decoder) onbuild(n *yaml.Node) error {
	return d.str(n, "onbuild", &d.cfg.OnBuild, quoted(CheckOnBuild))
}

func (d *decoder) tagMutability(n *yaml.Node) error {
	err := d.str(n, "repository.tag_mutability", &d.cfg.TagMutability, CheckTagMutability)
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
