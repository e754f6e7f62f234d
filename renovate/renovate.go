package renovate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Alias is one registryAliases entry: an ECR registry host and repository
// prefix as Renovate sees them, and the upstream registry they mirror.
type Alias struct {
	Key   string
	Value string
}

// PackageRule is one Renovate packageRules entry.
type PackageRule struct {
	Description       string   `json:"description"`
	MatchDatasources  []string `json:"matchDatasources"`
	MatchPackageNames []string `json:"matchPackageNames"`
	MatchUpdateTypes  []string `json:"matchUpdateTypes"`
	Enabled           bool     `json:"enabled"`
}

// Config is the part of a Renovate configuration ecrbase owns.
type Config struct {
	Aliases      []Alias
	PackageRules []PackageRule
}

// ecrHost matches an ECR registry host whose account and region may still be
// variables after Renovate's substitution.
var ecrHost = regexp.MustCompile(`^(?:[0-9]{12}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\.dkr\.ecr(?:-fips)?\.(?:[a-z0-9-]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\.amazonaws\.com(?:\.cn)?$`)

// variable matches $NAME and ${NAME}.
var variable = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// Hosts returns the ECR registry hosts of a Dockerfile's FROM and
// COPY --from images as Renovate sees them: with the defaults of the ARGs
// declared above each line substituted, and variables with no default
// left as written.
func Hosts(dockerfile []byte) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	var hosts []string
	for _, n := range res.AST.Children {
		var image string
		switch strings.ToLower(n.Value) {
		case "arg":
			for a := n.Next; a != nil; a = a.Next {
				if k, v, ok := strings.Cut(a.Value, "="); ok {
					args[k] = strings.Trim(v, `"'`)
				}
			}
			continue
		case "from":
			if n.Next != nil {
				image = n.Next.Value
			}
		case "copy":
			for _, f := range n.Flags {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					image = v
				}
			}
		}
		image = variable.ReplaceAllStringFunc(image, func(v string) string {
			m := variable.FindStringSubmatch(v)
			if val, ok := args[m[1]+m[2]]; ok {
				return val
			}
			return v
		})
		host, _, ok := strings.Cut(image, "/")
		if ok && ecrHost.MatchString(host) && !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return hosts, nil
}

// Aliases returns the registryAliases entries for every host and every
// registry's prefix (registry -> ECR repository prefix, "" for none):
// hosts in the order given, and under each host the longest prefixes first,
// because Renovate uses the first key that matches.
func Aliases(hosts []string, prefixes map[string]string) []Alias {
	type entry struct{ prefix, registry string }
	var entries []entry
	for reg, p := range prefixes {
		entries = append(entries, entry{strings.Trim(p, "/"), reg})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(len(b.prefix), len(a.prefix)); c != 0 {
			return c
		}
		return cmp.Compare(a.prefix+a.registry, b.prefix+b.registry)
	})
	var out []Alias
	for _, h := range hosts {
		for _, e := range entries {
			key := h
			if e.prefix != "" {
				key += "/" + e.prefix
			}
			out = append(out, Alias{Key: key, Value: e.registry})
		}
	}
	return out
}

// MarshalJSON writes registryAliases in order, then packageRules when
// there are any.
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"registryAliases":{`)
	for i, a := range c.Aliases {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.Key)
		v, _ := json.Marshal(a.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	if len(c.PackageRules) > 0 {
		rules, err := json.Marshal(c.PackageRules)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"packageRules":`)
		b.Write(rules)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ruleMarker starts the description of every package rule ecrbase writes, so
// that a merge replaces its own rules and keeps the others.
const ruleMarker = "ecrbase: "

// Merge merges c into an existing renovate.json: the registryAliases keys
// ecrbase writes are set (the others kept), package rules whose description
// starts with "ecrbase: " are replaced by c's, and every other setting is
// kept in its place. The result is indented with two spaces.
func Merge(existing []byte, c Config) ([]byte, error) {
	if len(bytes.TrimSpace(existing)) == 0 {
		existing = []byte("{}")
	}
	top, err := orderedObject(existing)
	if err != nil {
		return nil, fmt.Errorf("renovate.json: %w", err)
	}
	// registryAliases: existing entries first, in their order, with ecrbase's
	// values; then ecrbase's new keys in its order.
	var aliases []field
	if raw, ok := top.get("registryAliases"); ok {
		if aliases, err = orderedObject(raw); err != nil {
			return nil, fmt.Errorf("renovate.json: registryAliases: %w", err)
		}
	}
	merged := object(aliases)
	for _, a := range c.Aliases {
		v, _ := json.Marshal(a.Value)
		merged.set(a.Key, v)
	}
	raw, _ := json.Marshal(merged)
	top.set("registryAliases", raw)

	var rules []json.RawMessage
	if raw, ok := top.get("packageRules"); ok {
		if err := json.Unmarshal(raw, &rules); err != nil {
			return nil, fmt.Errorf("renovate.json: packageRules: %w", err)
		}
	}
	kept := rules[:0]
	for _, r := range rules {
		var d struct {
			Description any `json:"description"`
		}
		_ = json.Unmarshal(r, &d)
		if s, ok := d.Description.(string); ok && strings.HasPrefix(s, ruleMarker) {
			continue
		}
		kept = append(kept, r)
	}
	for _, r := range c.PackageRules {
		raw, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		kept = append(kept, raw)
	}
	if len(kept) > 0 {
		raw, _ := json.Marshal(kept)
		top.set("packageRules", raw)
	} else {
		top.remove("packageRules")
	}
	out, _ := json.Marshal(object(top))
	var b bytes.Buffer
	if err := json.Indent(&b, out, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// field is one member of a JSON object, kept in the order it was written.
type field struct {
	key   string
	value json.RawMessage
}

type object []field

func (o object) get(k string) (json.RawMessage, bool) {
	for _, f := range o {
		if f.key == k {
			return f.value, true
		}
	}
	return nil, false
}

func (o *object) set(k string, v json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == k {
			(*o)[i].value = v
			return
		}
	}
	*o = append(*o, field{k, v})
}

func (o *object) remove(k string) {
	*o = slices.DeleteFunc(*o, func(f field) bool { return f.key == k })
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// orderedObject reads a JSON object, keeping its members' order.
func orderedObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var o object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(tok.(string), v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the object")
	}
	return o, nil
}
