package rewrite

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// Result is one rewritten Dockerfile.
type Result struct {
	// Output is the rewritten file; it equals the input when nothing changed.
	Output  []byte
	Changed bool
	// Refs are the references found, with their final status.
	Refs []Ref
	// Warnings are references left as written that a person should know of.
	Warnings []*Error
}

// File rewrites the images a Dockerfile pulls to ECR URIs written with build
// arguments, and changes no other byte. It is idempotent: rewriting its
// output again changes nothing.
func File(name string, data []byte, opts Options) (*Result, error) {
	f, err := analyze(name, data, opts)
	if err != nil {
		return nil, err
	}
	// Nothing plans this analysis again: the plan works on it in place,
	// which spares Analyze's copy of every reference.
	p, err := plan(f)
	if err != nil {
		return nil, err
	}
	out := apply(data, p.edits)
	return &Result{Output: out, Changed: !bytes.Equal(out, data), Refs: p.refs, Warnings: p.warnings}, nil
}

// planCopy decides what happens to each reference of f with opts, and the
// edits that do it, on a copy of f's references and warnings: f is left as
// analysed, so that it can be planned again.
func planCopy(f *file, opts Options) (*editPlan, error) {
	g := *f
	g.refs, g.warnings = slices.Clone(f.refs), slices.Clone(f.warnings)
	if opts.Region != f.opts.Region {
		g.ecr = nil // replayed with the new region
	}
	g.opts = opts
	return plan(&g)
}

// plan decides what happens to each reference of f, and the edits that do
// it, changing f's references (status, URI) and warnings.
func plan(f *file) (*editPlan, error) {
	p := &editPlan{file: f}
	p.state = &state{over: map[string]string{}, froms: map[int]string{}, env: f.ecrEnv()}
	p.stageArgs = f.redeclared()
	if err := p.build(); err != nil {
		return nil, err
	}
	return p, nil
}

// edit replaces the bytes in at with text; an empty span inserts. order
// breaks ties between insertions at the same offset.
type edit struct {
	at    span
	text  string
	order int
}

// editPlan is the edits that rewrite one file.
type editPlan struct {
	*file
	edits    []edit
	usesArgs bool
	firstArg int // line of the first rewritten ARG default
	aliases  []alias
	// aliasNames finds the aliases by URI and by name.
	aliasNames aliasIndex
	// state is what the FROMs resolve to with the edits of ARG-held names
	// made so far; stageArgs are the meta ARGs each stage declares again.
	state     *state
	stageArgs [][]string
	argIdx    *argIndex // see index
	// kept are the FROMs no edit could point at ECR, commits the edits
	// made: see retryKept.
	kept    []keptFrom
	commits int
}

// alias is a stage added for an image used by COPY --from or RUN --mount,
// because BuildKit expands no variables there.
type alias struct {
	name, uri string
	before    int // index of the stage it is inserted before
}

func (p *editPlan) build() error {
	for i := range p.refs {
		if err := p.ref(&p.refs[i]); err != nil {
			return err
		}
	}
	p.retryKept()
	p.renumber()
	return p.argBlock()
}

func (p *editPlan) keep(r *Ref, note string) {
	r.Status, r.Note = StatusKept, note
	p.warnings = append(p.warnings, &Error{File: r.File, Line: r.Line, Err: fmt.Errorf("%s left as written: %s", r.Text, note)})
}

func (p *editPlan) ref(r *Ref) error {
	if r.Status != StatusRewrite {
		return nil
	}
	host := argHost(p.opts.AccountArg, p.opts.RegionArg)
	switch {
	case r.Kind == KindSyntax:
		if p.opts.Syntax != SyntaxLiteral || r.text.end == 0 {
			p.keep(r, "BuildKit reads # syntax= before any build argument exists, so each build pulls it upstream: "+
				"build with $(ecrbase build-args), which passes BUILDKIT_SYNTAX=<its ECR URI>, or rewrite with --syntax=literal")
			return nil
		}
		r.URI, _ = p.target(r.Text, r, Host(p.opts.Account, p.opts.Region))
		p.edits = append(p.edits, edit{at: r.text, text: r.URI})
	case r.OnBuild && p.opts.OnBuild == OnBuildLiteral && r.text.end != 0:
		if p.opts.Account == "" || p.opts.Region == "" {
			p.keep(r, "--onbuild=literal needs the account and region (--account or AWS_ACCOUNT_ID, --region)")
			return nil
		}
		// The trigger runs in a later build, which has neither these build
		// arguments nor an alias stage: only the literal URI works there.
		r.URI, _ = p.target(r.Text, r, Host(p.opts.Account, p.opts.Region))
		p.edits = append(p.edits, edit{at: r.text, text: r.URI})
	case r.OnBuild:
		p.keep(r, "ONBUILD triggers run in later builds, where these build arguments do not exist: --onbuild=literal with the account writes the literal ECR URI")
	case r.Kind == KindFrom && strings.Contains(refName(r.Text), "$"):
		p.variableFrom(r)
	case r.text.end == 0:
		p.keep(r, "the reference is split across lines")
	case r.Kind == KindFrom:
		uri, ok := p.target(r.Text, r, host)
		if !ok {
			p.keep(r, "the image name is built from variables")
			return nil
		}
		r.URI = uri
		p.edits = append(p.edits, edit{at: r.text, text: uri})
		p.usesArgs = true
	default:
		uri, _ := p.target(r.Text, r, host)
		r.URI = uri
		p.edits = append(p.edits, edit{at: r.text, text: p.alias(uri, r)})
		p.usesArgs = true
	}
	return nil
}

// refName is the name of a written reference, without tag and digest.
func refName(s string) string {
	name, _ := splitRef(s)
	return name
}

// target is the ECR URI for a reference written as written: the registry
// and repository are replaced, and the tag and digest are kept as written
// (variables included). It fails when the name itself has variables.
func (p *editPlan) target(written string, r *Ref, host string) (string, bool) {
	name, suffix := splitRef(written)
	if strings.Contains(name, "$") {
		return "", false
	}
	if suffix == "" {
		if t, ok := r.named.(reference.Tagged); ok {
			suffix = ":" + t.Tag()
		}
		if d, ok := r.named.(reference.Digested); ok {
			suffix += "@" + d.Digest().String()
		}
	}
	if d := p.opts.Pins[r.Reference]; d != "" && !strings.Contains(suffix, "@") {
		suffix += "@" + d
	}
	return host + "/" + r.Repository + suffix, true
}

// splitRef splits a written reference into its name and its ":tag@digest"
// suffix, ignoring separators inside ${...}.
func splitRef(s string) (name, suffix string) {
	depth, slash, colon, at := 0, -1, -1, -1
	for i := 0; i < len(s) && at < 0; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case depth > 0:
		case s[i] == '/':
			slash, colon = i, -1
		case s[i] == ':':
			colon = i
		case s[i] == '@':
			at = i
		}
	}
	end := len(s)
	if at >= 0 {
		end = at
	}
	if colon > slash {
		end = colon
	}
	return s[:end], s[end:]
}

var stageNameChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// alias returns the stage name standing for uri, adding the stage before
// the stage of r when it is new.
func (p *editPlan) alias(uri string, r *Ref) string {
	if name, ok := p.aliasNames.byURI[uri]; ok {
		return name
	}
	base := r.Repository[strings.LastIndex(r.Repository, "/")+1:]
	if t, ok := r.named.(reference.Tagged); ok {
		base += "-" + t.Tag()
	} else if d, ok := r.named.(reference.Digested); ok {
		base += "-" + d.Digest().Encoded()[:12]
	}
	base = "ecr-" + strings.Trim(stageNameChars.ReplaceAllString(strings.ToLower(base), "-"), "-")
	name := p.freeName(base)
	p.aliasNames.add(uri, name)
	p.aliases = append(p.aliases, alias{name: name, uri: uri, before: r.stage})
	line := p.stages[r.stage].Location[0].Start.Line
	p.edits = append(p.edits, edit{
		at:    span{p.src.lineStart(line), p.src.lineStart(line)},
		text:  "FROM " + uri + " AS " + name + p.src.eol(),
		order: 1 + len(p.aliases),
	})
	return name
}

func (p *editPlan) stageNameTaken(name string) bool {
	return p.stageNamed(name) >= 0 || p.aliasNames.taken[name]
}

// renumber keeps numeric --from=N pointing at the same stage once alias
// stages are inserted before it.
func (p *editPlan) renumber() {
	if len(p.indexRefs) == 0 || len(p.aliases) == 0 {
		return
	}
	// before[i] is how many aliases go before stage i.
	before := make([]int, len(p.stages)+1)
	for _, a := range p.aliases {
		before[a.before+1]++
	}
	for i := 1; i < len(before); i++ {
		before[i] += before[i-1]
	}
	for _, ir := range p.indexRefs {
		shift := before[ir.index+1]
		if shift > 0 {
			p.edits = append(p.edits, edit{at: ir.at, text: fmt.Sprint(ir.index + shift)})
		}
	}
}

// argBlock declares the account and region build arguments once, before
// the first instruction, reusing declarations the file already has.
func (p *editPlan) argBlock() error {
	if !p.usesArgs {
		return nil
	}
	var block strings.Builder
	for _, name := range []string{p.opts.AccountArg, p.opts.RegionArg} {
		if a := p.args[name]; a != nil {
			if p.firstArg > 0 && a.line > p.firstArg {
				return p.errorf(a.line, "ARG %s is declared after line %d, which uses it: move it up", name, p.firstArg)
			}
			continue
		}
		block.WriteString("ARG " + name)
		if name == p.opts.RegionArg && p.opts.Region != "" {
			block.WriteString("=" + p.opts.Region)
		}
		block.WriteString(p.src.eol())
	}
	if block.Len() > 0 {
		at := p.src.lineStart(p.firstLine)
		p.edits = append(p.edits, edit{at: span{at, at}, text: block.String()})
	}
	return nil
}

func apply(data []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return data
	}
	slices.SortStableFunc(edits, func(a, b edit) int {
		if a.at.start != b.at.start {
			return a.at.start - b.at.start
		}
		return a.order - b.order
	})
	var out bytes.Buffer
	out.Grow(len(data) + 256)
	last := 0
	for _, e := range edits {
		out.Write(data[last:e.at.start])
		out.WriteString(e.text)
		last = e.at.end
		if e.at.end < e.at.start {
			last = e.at.start
		}
	}
	out.Write(data[last:])
	return out.Bytes()
}
