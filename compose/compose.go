package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"gopkg.in/yaml.v3"

	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

// Options are rewrite's options plus the environment compose interpolates
// with.
type Options struct {
	rewrite.Options
	// Environ is the environment as KEY=VALUE; nil means the process's. The
	// .env file next to the compose file is read on top of it, as docker
	// compose does (the environment wins).
	Environ []string
}

// Result is one rewritten compose file.
type Result struct {
	rewrite.Result
	// Builds are the build: sections of its services, those brought in by
	// include: and extends: included.
	Builds []Build
	// Related are the files its include: and extends: sections load, by
	// absolute path.
	Related []string
}

// Build is one service's build: section.
type Build struct {
	Service string
	// Dockerfile is the absolute path of the Dockerfile it builds; empty
	// for dockerfile_inline and remote contexts.
	Dockerfile string
	// Args are its build.args with a value.
	Args map[string]string
}

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotCompose: the file is not a compose file.
	ErrNotCompose = errors.New("not a compose file")
)

// File rewrites the images a compose file pulls to ECR URIs written with
// compose variables, and changes no other byte. name locates the file: its
// directory is where .env, include: and extends: are read from. Rewriting
// the output again changes nothing.
func File(ctx context.Context, name string, data []byte, opts Options) (*Result, error) {
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return nil, &rewrite.Error{File: name, Err: fmt.Errorf("%w: binary file", ErrNotCompose)}
	}
	docs, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	env, err := environment(name, opts.Environ)
	if err != nil {
		return nil, err
	}
	if err := checkLoads(name, docs, env); err != nil {
		return nil, err
	}
	project, err := load(ctx, name, data, env)
	if err != nil {
		return nil, locate(name, docs, err)
	}
	c := &composeFile{name: name, data: data, opts: opts.Options, env: env, project: project}
	c.lines = lineStarts(data)
	if c.opts.AccountArg == "" {
		c.opts.AccountArg = registry.DefaultAccountArg
	}
	if c.opts.RegionArg == "" {
		c.opts.RegionArg = registry.DefaultRegionArg
	}
	region := "${" + c.opts.RegionArg + "}"
	if c.opts.Region != "" {
		region = "${" + c.opts.RegionArg + ":-" + c.opts.Region + "}"
	}
	c.host = "${" + c.opts.AccountArg + "}.dkr.ecr." + region + ".amazonaws.com"
	for _, doc := range docs {
		if err := c.document(doc); err != nil {
			return nil, err
		}
	}
	if err := c.inline(); err != nil {
		return nil, err
	}
	out := apply(data, c.edits)
	if len(c.edits) > 0 {
		if err := c.verify(docs, out); err != nil {
			return nil, &rewrite.Error{File: name, Err: err}
		}
	}
	res := &Result{
		Result:  rewrite.Result{Output: out, Changed: !bytes.Equal(out, data), Refs: c.refs, Warnings: c.warnings},
		Builds:  c.builds(),
		Related: c.related(docs),
	}
	return res, nil
}

// parseYAML decodes every document of the file into nodes. The loader
// decodes it again: this copy keeps lines, columns and styles.
func parseYAML(name string, data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, errEOF) || (err != nil && err.Error() == "EOF") {
			break
		}
		if err != nil {
			return nil, yamlError(name, data, err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, &rewrite.Error{File: name, Err: fmt.Errorf("%w: the file is empty", ErrNotCompose)}
	}
	aliases := 0
	for _, doc := range docs {
		if n := tooManyAliases(doc, &aliases); n != nil {
			return nil, &rewrite.Error{File: name, Line: n.Line, Err: fmt.Errorf("more than %d YAML aliases: not read, since compose's loader takes time quadratic in their number", MaxAliases)}
		}
	}
	for _, doc := range docs {
		root := doc
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return nil, &rewrite.Error{File: name, Line: root.Line, Err: fmt.Errorf("%w: the top level is %s, not a mapping", ErrNotCompose, kindName(root))}
		}
	}
	return docs, nil
}

// MaxAliases is the most YAML aliases (*name, <<: *name) a compose file
// may hold. Compose's loader checks each alias for cycles against the
// others: 4,000 take it 3 s, 20,000 over 30 s. Real files hold dozens.
const MaxAliases = 1000

// tooManyAliases counts the alias nodes under n into count, without
// following them, and returns the one past MaxAliases.
func tooManyAliases(n *yaml.Node, count *int) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		if *count++; *count > MaxAliases {
			return n
		}
		return nil
	}
	for _, c := range n.Content {
		if bad := tooManyAliases(c, count); bad != nil {
			return bad
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "empty"
}

// environment is what compose interpolates with: the .env file next to the
// compose file, overridden by the environment.
func environment(name string, environ []string) (map[string]string, error) {
	if environ == nil {
		environ = os.Environ()
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	dotEnv := filepath.Join(filepath.Dir(name), ".env")
	tree, err := rewrite.Tree(name)
	if err != nil {
		return nil, &rewrite.Error{File: name, Err: err}
	}
	// Read by the rules of every file ecrbase reads (in the tree, regular,
	// bounded) before dotenv reads it again.
	if err := checkDotEnv(tree, dotEnv); err != nil {
		return nil, &rewrite.Error{File: dotEnv, Err: err}
	}
	if info, err := os.Stat(dotEnv); err == nil && info.Mode().IsRegular() {
		fromFile, err := dotenv.GetEnvFromFile(env, []string{dotEnv})
		if err != nil {
			return nil, &rewrite.Error{File: dotEnv, Err: errors.New(strings.TrimPrefix(err.Error(), "failed to read "+absPath(dotEnv)+": "))}
		}
		for k, v := range fromFile {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	return env, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// load runs compose-go's loader on the file alone: schema, interpolation,
// include: and extends:, every profile. An override file need not be
// complete, so the consistency check is off.
func load(ctx context.Context, name string, data []byte, env map[string]string) (*types.Project, error) {
	abs := absPath(name)
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: data}},
		Environment: env,
	}
	return loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName("ecrbase", true)
		o.SkipConsistencyCheck = true
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.Profiles = []string{"*"}
		o.Interpolate.Substitute = substitute
	})
}

// substitute is compose's interpolation without its log lines: a library
// stays silent, and an unset variable is reported with its line instead. A
// required variable without a value (${X:?...}) leaves the value as
// written: the pre-commit hook runs without the build's environment, and
// image: reports it.
func substitute(s string, m template.Mapping) (string, error) {
	v, err := template.SubstituteWithOptions(s, m, template.WithoutLogging)
	var missing *template.MissingRequiredError
	if errors.As(err, &missing) {
		return s, nil
	}
	return v, err
}

// composeFile is one compose file under rewrite.
type composeFile struct {
	name     string
	data     []byte
	lines    []int
	opts     rewrite.Options
	env      map[string]string
	project  *types.Project
	host     string
	edits    []edit
	edited   map[*yaml.Node]bool
	newValue map[*yaml.Node]string // the value of each edited node after the rewrite
	siblings map[string]bool       // services other compose files of the directory build
	refs     []rewrite.Ref
	warnings []*rewrite.Error
}

func (c *composeFile) warn(line int, format string, args ...any) {
	c.warnings = append(c.warnings, &rewrite.Error{File: c.name, Line: line, Err: fmt.Errorf(format, args...)})
}

// document rewrites the image: of each service in one YAML document.
func (c *composeFile) document(doc *yaml.Node) error {
	root := doc.Content[0]
	services, flow := lookup(root, "services", root.Style&yaml.FlowStyle != 0)
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	flow = flow || services.Style&yaml.FlowStyle != 0
	for i := 0; i+1 < len(services.Content); i += 2 {
		svc, body := services.Content[i].Value, deref(services.Content[i+1])
		if body.Kind != yaml.MappingNode {
			continue
		}
		image, imageFlow := lookup(body, "image", flow || body.Style&yaml.FlowStyle != 0)
		if image == nil || image.Kind != yaml.ScalarNode {
			continue
		}
		if err := c.image(svc, image, imageFlow); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds key in a mapping, through merge keys (<<: *base), and
// reports whether the value sits in a flow collection.
func lookup(m *yaml.Node, key string, flow bool) (*yaml.Node, bool) {
	m = deref(m)
	if m.Kind != yaml.MappingNode {
		return nil, flow
	}
	flow = flow || m.Style&yaml.FlowStyle != 0
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			v := m.Content[i+1]
			if v.Kind == yaml.AliasNode {
				return deref(v), flow || deref(v).Style&yaml.FlowStyle != 0
			}
			return v, flow
		}
	}
	// Merged mappings count only where the mapping itself lacks the key.
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Tag != "!!merge" {
			continue
		}
		v := deref(m.Content[i+1])
		bases := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			bases = v.Content
		}
		for _, b := range bases {
			if n, f := lookup(b, key, false); n != nil {
				return n, f
			}
		}
	}
	return nil, flow
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// image decides what happens to one service's image: value.
func (c *composeFile) image(svc string, n *yaml.Node, flow bool) error {
	if c.edited[n] {
		return nil // an anchored value several services share
	}
	text := n.Value
	if c.hasBuild(svc) {
		c.refs = append(c.refs, rewrite.Ref{File: c.name, Line: n.Line, Kind: rewrite.KindImage, Text: text,
			Status: rewrite.StatusBuilt, Note: "service " + svc + " builds this image"})
		return nil
	}
	// ${VAR:-default}: the default is the image, as an ARG default is in a
	// Dockerfile; the rewrite keeps the variable and rewrites the default.
	written, wrap := text, func(s string) string { return s }
	if v, op, def, ok := defaultForm(text); ok {
		written = def
		wrap = func(s string) string { return "${" + v + op + s + "}" }
	}
	missing := map[string]bool{}
	expanded, err := template.SubstituteWithOptions(written, func(k string) (string, bool) {
		v, ok := c.env[k]
		if !ok {
			missing[k] = true
		}
		return v, ok
	}, template.WithoutLogging)
	if err != nil {
		var req *template.MissingRequiredError
		if !errors.As(err, &req) {
			return &rewrite.Error{File: c.name, Line: n.Line, Err: fmt.Errorf("interpolating image %q: %v", text, err)}
		}
		missing[req.Variable] = true
	}
	if _, perr := reference.ParseNormalizedNamed(expanded); err != nil || perr != nil && !strings.Contains(written, ".dkr.ecr") {
		if len(missing) == 0 {
			return &rewrite.Error{File: c.name, Line: n.Line, Err: fmt.Errorf("invalid image reference %q: %v", expanded, perr)}
		}
		names := slices.Sorted(maps.Keys(missing))
		note := "no value for " + strings.Join(names, ", ") + "; set it in the environment or in .env"
		if c.opts.Strict {
			return &rewrite.Error{File: c.name, Line: n.Line, Err: fmt.Errorf("%w %s: %s", rewrite.ErrUnresolved, text, note)}
		}
		c.refs = append(c.refs, rewrite.Ref{File: c.name, Line: n.Line, Kind: rewrite.KindImage, Text: text, Status: rewrite.StatusUnresolved, Note: note})
		c.warn(n.Line, "cannot resolve %s: %s", text, note)
		return nil
	}
	r, err := rewrite.Classify(c.name, n.Line, rewrite.KindImage, written, expanded, c.opts)
	if err != nil {
		return err
	}
	r.Text = text
	if r.Status == rewrite.StatusRewrite {
		uri, ok := r.Rewritten(written, c.host, c.opts.Pins)
		at, exact := c.span(n)
		switch {
		case !ok && written != text:
			c.keep(&r, "the image name in the default of "+text+" is built from variables")
		case !ok:
			c.keep(&r, "the image name is built from variables; set them to an ECR URI")
		case !exact:
			c.keep(&r, "the value is written in a YAML style that cannot be edited in place (escapes, several lines or a block scalar)")
		default:
			r.URI = wrap(uri)
			value := r.URI
			if flow && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
				// ${...} would end a flow mapping: quote it there.
				value = `"` + value + `"`
			}
			if c.edited == nil {
				c.edited = map[*yaml.Node]bool{}
			}
			c.edited[n] = true
			if c.newValue == nil {
				c.newValue = map[*yaml.Node]string{}
			}
			c.newValue[n] = r.URI
			c.edits = append(c.edits, edit{at: at, text: value})
		}
	}
	c.refs = append(c.refs, r)
	return nil
}

func (c *composeFile) keep(r *rewrite.Ref, note string) {
	r.Status, r.Note = rewrite.StatusKept, note
	c.warn(r.Line, "%s left as written: %s", r.Text, note)
}

// hasBuild reports whether a service builds its image: in this file, in a
// file it extends, or in an override next to it, which docker compose
// merges with it.
func (c *composeFile) hasBuild(svc string) bool {
	if s, ok := c.project.Services[svc]; ok && s.Build != nil {
		return true
	}
	if s, ok := c.project.DisabledServices[svc]; ok && s.Build != nil {
		return true
	}
	if c.siblings == nil {
		c.siblings = siblingBuilds(c.name)
	}
	return c.siblings[svc]
}

// siblingBuilds are the services with build: in the other compose files of
// a directory.
func siblingBuilds(name string) map[string]bool {
	dir := filepath.Dir(name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range entries {
		if !rewrite.IsComposeFile(e.Name()) || e.Name() == filepath.Base(name) || !e.Type().IsRegular() {
			continue
		}
		data, err := rewrite.ReadFile(filepath.Join(dir, e.Name())) // bounded, as every input
		if err != nil {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		services, _ := lookup(doc.Content[0], "services", false)
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			if b, _ := lookup(services.Content[i+1], "build", false); b != nil {
				out[services.Content[i].Value] = true
			}
		}
	}
	return out
}

// defaultForm splits ${VAR:-default} (or ${VAR-default}) when it is the
// whole value.
func defaultForm(s string) (name, op, def string, ok bool) {
	if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") {
		return "", "", "", false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 && i != len(s)-1 {
				return "", "", "", false // ${A}${B}: not one variable
			}
		}
	}
	inner := s[2 : len(s)-1]
	end := 0
	for end < len(inner) && (inner[end] == '_' || inner[end] >= 'a' && inner[end] <= 'z' || inner[end] >= 'A' && inner[end] <= 'Z' || end > 0 && inner[end] >= '0' && inner[end] <= '9') {
		end++
	}
	if end == 0 {
		return "", "", "", false
	}
	rest := inner[end:]
	for _, o := range []string{":-", "-"} {
		if d, found := strings.CutPrefix(rest, o); found && d != "" {
			return inner[:end], o, d, true
		}
	}
	return "", "", "", false
}

// inline reports the images of dockerfile_inline builds. They are left as
// written, since the Dockerfile is a YAML string here, but mirrored.
func (c *composeFile) inline() error {
	for _, svc := range slices.Sorted(maps.Keys(c.project.Services)) {
		s := c.project.Services[svc]
		if s.Build == nil || s.Build.DockerfileInline == "" {
			continue
		}
		line := c.keyLine("services", svc, "build", "dockerfile_inline")
		o := c.opts
		o.BuildArgs = mergeArgs(buildArgs(s.Build), o.BuildArgs)
		res, err := rewrite.File(c.name, []byte(s.Build.DockerfileInline), o)
		if err != nil {
			var re *rewrite.Error
			if errors.As(err, &re) {
				err = re.Err
			}
			return &rewrite.Error{File: c.name, Line: line, Err: fmt.Errorf("service %s dockerfile_inline: %v", svc, err)}
		}
		for _, r := range res.Refs {
			r.Line = line
			if r.Status == rewrite.StatusRewrite {
				r.URI = ""
				c.keep(&r, "service "+svc+" has a dockerfile_inline build; move it to a Dockerfile to pull from ECR")
			}
			c.refs = append(c.refs, r)
		}
	}
	return nil
}

// keyLine is the line of a nested key in the file, or 0.
func (c *composeFile) keyLine(path ...string) int {
	var doc yaml.Node
	if yaml.Unmarshal(c.data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	return nodeLine(doc.Content[0], path)
}

func nodeLine(n *yaml.Node, path []string) int {
	line := 0
	for _, k := range path {
		n = deref(n)
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func buildArgs(b *types.BuildConfig) map[string]string {
	out := map[string]string{}
	for k, v := range b.Args {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// mergeArgs lays over on top of base.
func mergeArgs(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// builds lists the Dockerfiles the services build, with their arguments.
func (c *composeFile) builds() []Build {
	var out []Build
	all := c.project.AllServices()
	for _, svc := range slices.Sorted(maps.Keys(all)) {
		b := all[svc].Build
		if b == nil || b.DockerfileInline != "" || remoteContext(b.Context) {
			continue
		}
		df := b.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(b.Context, df)
		}
		out = append(out, Build{Service: svc, Dockerfile: df, Args: buildArgs(b)})
	}
	return out
}

func remoteContext(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "github.com/")
}

// related are the local files include: and extends: load.
func (c *composeFile) related(docs []*yaml.Node) []string {
	var out []string
	for _, r := range loadRefs(c.name, docs, c.env) {
		out = append(out, r.path)
	}
	return out
}
