package rewrite

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Stand-in values of the account and region build arguments, used to
// evaluate what a rewritten file resolves to: any values make an ECR host.
const (
	placeholderAccount = "000000000000"
	placeholderRegion  = "us-east-1"
)

// argEnv is the meta ARGs evaluated again: their values, and for each ARG
// the variables without a value that its default used.
type argEnv struct {
	env     *env
	missing map[string]map[string]struct{}
}

// replay evaluates the meta ARGs again with BuildKit's rules, as if the
// defaults in over (by ARG name) were written in the file, and the account
// and region build arguments had values, as they do in a build. It is how
// the rewrite proves that an edit makes BuildKit resolve exactly the ECR
// image, before making it.
func (f *file) replay(over map[string]string) (*argEnv, error) {
	e := &argEnv{env: newEnv(), missing: map[string]map[string]struct{}{}}
	for _, kv := range f.auto {
		e.env.set(kv[0], kv[1])
	}
	placeholder := map[string]string{f.opts.AccountArg: placeholderAccount, f.opts.RegionArg: placeholderRegion}
	if f.opts.Region != "" {
		placeholder[f.opts.RegionArg] = f.opts.Region
	}
	for _, name := range []string{f.opts.AccountArg, f.opts.RegionArg} {
		v := placeholder[name]
		if bv, ok := f.opts.BuildArgs[name]; ok {
			v = bv
		}
		if f.declared[name] == 0 {
			// The rewrite declares it before the first instruction.
			e.env.set(name, v)
		}
	}
	for _, cmd := range f.metaCmds {
		for _, kv := range cmd.Args {
			var value string
			set := false
			if v, ok := f.opts.BuildArgs[kv.Key]; ok {
				value, set = v, true
			} else if def, ok := over[kv.Key]; ok || kv.Value != nil {
				if !ok {
					def = *kv.Value
				}
				res, err := f.lex.ProcessWordWithMatches(def, e.env)
				if err != nil {
					return nil, err
				}
				value, set = res.Result, true
				missing := maps.Clone(res.Unmatched)
				for k := range res.Matched {
					for m := range e.missing[k] {
						if missing == nil {
							missing = map[string]struct{}{}
						}
						missing[m] = struct{}{}
					}
				}
				e.missing[kv.Key] = missing
			}
			if p, ok := placeholder[kv.Key]; ok && value == "" {
				value, set = p, true
			}
			if set {
				e.env.set(kv.Key, value)
			}
		}
	}
	return e, nil
}

// expand expands word in e. missing names the variables without a value,
// the account and region build arguments excepted.
func (e *argEnv) expand(f *file, word string) (string, map[string]struct{}, error) {
	res, err := f.lex.ProcessWordWithMatches(word, e.env)
	if err != nil {
		return "", nil, err
	}
	missing := maps.Clone(res.Unmatched)
	for k := range res.Matched {
		for m := range e.missing[k] {
			if missing == nil {
				missing = map[string]struct{}{}
			}
			missing[m] = struct{}{}
		}
	}
	delete(missing, f.opts.AccountArg)
	delete(missing, f.opts.RegionArg)
	return res.Result, missing, nil
}

// ecrEnv is the file's meta ARGs with the account and region set, which
// tells a reference written to pull from ECR through them.
func (f *file) ecrEnv() *argEnv {
	if f.ecr == nil {
		e, err := f.replay(nil)
		if err != nil {
			e = &argEnv{env: f.env}
		}
		f.ecr = e
	}
	return f.ecr
}

// evaluatesToECR reports whether text, which uses variables, names an
// image on an ECR host once the account and region build arguments have
// values: a file rewritten through an ARG default, such as
// ARG REPO=${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/... with
// FROM $REPO:8.0.
func (f *file) evaluatesToECR(text string) bool {
	if !strings.ContainsRune(text, '$') {
		return false
	}
	s, _, err := f.ecrEnv().expand(f, text)
	if err != nil {
		return false
	}
	host, _, ok := strings.Cut(s, "/")
	return ok && IsECRHost(host)
}

// upstream maps a reference written to pull from ECR through build
// arguments back to the image it mirrors, by the repository prefixes: a
// Dockerfile that was rewritten and committed still tells mirror what to
// copy. It returns empty strings when the repository has no known prefix
// or a variable is unset.
func (f *file) upstream(text string) (source, repo string) {
	var rest string
	if s, missing, err := f.ecrEnv().expand(f, text); err == nil && len(missing) == 0 {
		host, r, ok := strings.Cut(s, "/")
		if !ok || !IsECRHost(host) {
			return "", ""
		}
		rest = r
	} else if ecrWritten.MatchString(text) {
		// The account and region come from build arguments of other names
		// (another --account-arg): the host is ECR's by its shape, and only
		// the repository and tag must resolve.
		_, r, _ := strings.Cut(text, "/")
		r, missing, err := f.ecrEnv().expand(f, r)
		if err != nil || len(missing) > 0 {
			return "", ""
		}
		rest = r
	} else {
		return "", ""
	}
	name, suffix := splitRef(rest)
	registry, path := f.reversePrefix(name)
	if registry == "" {
		return "", ""
	}
	named, err := f.parse(registry + "/" + path + suffix)
	if err != nil {
		return "", ""
	}
	return reference.TagNameOnly(named).String(), name
}

// level is one place where the start of an image name is written: the
// FROM itself, the default of an ARG whose value starts the name, or the
// fallback word of a ${NAME:-word} whose NAME has no value.
type level struct {
	text string // as written
	at   int    // offset of text in the file; -1 when it cannot be edited in place
	// arg is the ARG whose default holds text ("" for the FROM); full is
	// that default or FROM as written, and text starts at off in it.
	arg  string
	full string
	off  int
}

// fallback matches ${NAME:-word} and ${NAME-word}.
var fallback = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)(.*)\}$`)

// levels follows the head of a FROM's name through the ARG defaults that
// spell it: FROM $BASE_IMAGE, ARG BASE_IMAGE=$REGISTRY/$OWNER/scipy,
// ARG REGISTRY=quay.io. It stops at an ARG whose value comes from
// --build-arg or that is declared more than once, and says so.
func (p *editPlan) levels(r *Ref) ([]level, []string) {
	at := -1
	if r.text.end != 0 {
		at = r.text.start
	}
	text := r.Text
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' && !strings.ContainsAny(text[1:len(text)-1], "\"'\\`") {
		// FROM "$REPO:8.0": the quotes go when BuildKit expands it; the
		// FROM cannot be edited in place, the ARGs behind it can.
		text, at = text[1:len(text)-1], -1
	}
	out := []level{{text: text, at: at, full: text}}
	var why []string
	for range 16 {
		cur := out[len(out)-1]
		tok, name := headToken(cur.text)
		if m := fallback.FindStringSubmatch(tok); m != nil {
			// The word is used when NAME has no value (or, with :-, an
			// empty one); an edit there keeps NAME overridable.
			v, set := p.env.Get(m[1])
			if set && (v != "" || m[2] == "-") {
				break
			}
			shift := len(tok) - len(m[3]) - 1
			next := cur
			next.text, next.off = m[3], cur.off+shift
			if cur.at >= 0 {
				next.at = cur.at + shift
			}
			out = append(out, next)
			continue
		}
		if name == "" {
			break
		}
		a := p.args[name]
		switch {
		case a == nil || a.buildArg || a.def == "":
		case p.declared[name] != 1:
			why = append(why, "ARG "+name+" is declared more than once")
		default:
			at := -1
			if a.defSpan.end != 0 {
				at = a.defSpan.start
			}
			out = append(out, level{text: a.def, at: at, arg: name, full: a.def})
			continue
		}
		break
	}
	return out, why
}

// state is what the chosen edits make the FROMs resolve to: the ARG
// defaults rewritten so far and the FROMs rewritten in place. env is the
// meta ARGs before any edit; argIndex holds their values since.
type state struct {
	over  map[string]string // ARG name to its new default, as written
	froms map[int]string    // stage to its new FROM text
	env   *argEnv
}

// resolve is what the FROM of stage i resolves to with the edit c, or
// with the accepted edits when c is nil.
func (p *editPlan) resolve(c *candidate, i int) (string, error) {
	text, ok := p.state.froms[i]
	if c != nil && c.stage == i {
		text, ok = c.fromText, true
	}
	if !ok {
		text = p.stages[i].BaseName
	}
	return p.expandIn(c, text)
}

// exact reports whether v, what a FROM resolves to, is r's image in ECR,
// with the digest --pin adds or without it.
func (p *editPlan) exact(v string, r *Ref) bool {
	named, err := reference.ParseNormalizedNamed(v)
	if err != nil || !IsECRHost(reference.Domain(named)) || reference.Path(named) != r.Repository {
		return false
	}
	got, want := namedSuffix(reference.TagNameOnly(named)), namedSuffix(r.named)
	if d := p.opts.Pins[r.Reference]; d != "" && !strings.Contains(want, "@") && got == want+"@"+d {
		return true
	}
	return got == want
}

// fromRef is the reference of the FROM of stage i.
func (p *editPlan) fromRef(i int) *Ref {
	if i < 0 || i >= len(p.fromRefs) {
		return nil
	}
	return &p.refs[p.fromRefs[i]]
}

// check tells why c, one more edit than the accepted state, is not exact:
// every FROM whose value changes must become its image in ECR, and no
// other use of a meta ARG (FROM --platform, an ARG in a stage) may see a
// different value. It returns "" when c is exact. Only the stages that
// read a value c changes are looked at: the others cannot differ.
func (p *editPlan) check(c *candidate) string {
	x := p.index()
	if !c.checked {
		c.checked, c.stages, c.seen = true, p.changedStages(c), len(x.fromLog)
		p.scan(c, 0)
		return c.bad
	}
	// FROMs edited since c was checked: only their stages can answer
	// differently now.
	for _, k := range x.fromLog[c.seen:] {
		if c.fail >= 0 && k > c.fail {
			continue
		}
		at, found := slices.BinarySearch(c.stages, k)
		bad := p.checkStage(c, k)
		switch {
		case bad != "" && (c.fail < 0 || k < c.fail):
			if !found {
				c.stages = slices.Insert(c.stages, at, k)
			}
			c.fail, c.failAt, c.bad = k, at, bad
		case bad != "" && k == c.fail:
			c.bad = bad
		case bad == "" && k == c.fail:
			p.scan(c, c.failAt+1)
		}
	}
	c.seen = len(x.fromLog)
	return c.bad
}

// scan checks c's stages from index from on, and records the first that
// is not exact.
func (p *editPlan) scan(c *candidate, from int) {
	c.fail, c.failAt, c.bad = -1, len(c.stages), ""
	for j := from; j < len(c.stages); j++ {
		if bad := p.checkStage(c, c.stages[j]); bad != "" {
			c.fail, c.failAt, c.bad = c.stages[j], j, bad
			return
		}
	}
}

// checkStage tells why stage i would not be exact with c, or "".
func (p *editPlan) checkStage(c *candidate, i int) string {
	if c.arg != "" {
		p.index().spent++
	}
	st := p.stages[i]
	before, err1 := p.resolve(nil, i)
	after, err2 := p.resolve(c, i)
	if err1 != nil || err2 != nil {
		return "the rewritten name does not expand"
	}
	if after != before {
		r := p.fromRef(i)
		if r == nil || r.Status != StatusRewrite || !p.exact(after, r) {
			return fmt.Sprintf("the FROM on line %d would resolve to %s", st.Location[0].Start.Line, after)
		}
	}
	if st.Platform != "" {
		b, _ := p.expandIn(nil, st.Platform)
		a, _ := p.expandIn(c, st.Platform)
		if a != b {
			return fmt.Sprintf("FROM --platform on line %d uses it", st.Location[0].Start.Line)
		}
	}
	for _, name := range p.stageArgs[i] {
		if name == p.opts.AccountArg || name == p.opts.RegionArg {
			continue
		}
		if p.getIn(nil, name) != p.getIn(c, name) {
			return fmt.Sprintf("ARG %s is used inside the stage on line %d", name, st.Location[0].Start.Line)
		}
	}
	return ""
}

// variableFrom points a FROM whose image name is built from variables at
// ECR. It tries, from the most parameterised to the least, to replace the
// head of the name where it is spelled: in the deepest ARG default first
// (ARG REGISTRY=quay.io becomes the ECR host and quay prefix), then in the
// defaults above it, then in the FROM itself. A head whose value belongs to
// the build (--build-arg, TARGETARCH) is never replaced; the registry
// prefix can still be written before it (${TARGETARCH}/alpine becomes
// <ecr>/docker-hub/${TARGETARCH}/alpine). The first edit that BuildKit
// would resolve to exactly the ECR image, for this FROM and every other use
// of the ARGs it changes, is made.
func (p *editPlan) variableFrom(r *Ref) {
	host := argHost(p.opts.AccountArg, p.opts.RegionArg)
	if v, err := p.resolve(nil, r.stage); err == nil && p.exact(v, r) {
		// An edit made for an earlier FROM covers this one.
		r.URI = host + "/" + r.Repository + splitSuffix(r.expanded)
		p.usesArgs = true
		p.pin(r)
		return
	}
	lv, why := p.levels(r)
	for _, insert := range []bool{false, true} {
		for j := len(lv) - 1; j >= 0; j-- {
			if reason, ok := p.tryHead(r, lv[j], insert, host); ok {
				return
			} else if reason != "" && !insert {
				why = append(why, reason)
			}
		}
	}
	if _, name := headToken(lv[len(lv)-1].text); name != "" {
		if a := p.args[name]; a != nil && a.buildArg {
			if where := p.otherUse(name); where != "" {
				// build-args must not change what that use sees.
				p.keep(r, "the image comes from --build-arg "+name+", which "+where+"; pass the ECR URI of the image at build time yourself")
				return
			}
			r.BuildArg, r.argValue = name, a.value
			p.keep(r, "the image comes from --build-arg "+name+"; pass its ECR URI at build time (ecrbase build-args --build-arg "+name+"=...)")
			return
		}
	}
	if len(why) == 0 {
		why = append(why, "no part of it is spelled where it can be edited")
	}
	p.keep(r, "the image name is built from variables and no edit gives exactly its ECR name: "+strings.Join(why, "; "))
	p.kept = append(p.kept, keptFrom{r, p.warnings[len(p.warnings)-1], p.commits})
}

// keptFrom is a FROM that no edit could point at ECR when its turn came,
// and how many edits had been made then.
type keptFrom struct {
	r       *Ref
	warning *Error
	commits int
}

// retryKept tries again the FROMs kept before a later edit: an edit made
// for a later FROM can take away the use that kept an ARG edit from being
// exact (FROM $REGISTRY/a and FROM $REGISTRY/b/c, the second rewritten in
// place), and rewriting the output again would then make it.
func (p *editPlan) retryKept() {
	dropped := map[*Error]bool{}
	for _, k := range p.kept {
		if k.commits == p.commits {
			continue
		}
		r := k.r
		status, note := r.Status, r.Note
		r.Status, r.Note = StatusRewrite, ""
		if p.headEdit(r) {
			dropped[k.warning] = true
			continue
		}
		r.Status, r.Note = status, note
	}
	if len(dropped) > 0 {
		p.warnings = slices.DeleteFunc(p.warnings, func(e *Error) bool { return dropped[e] })
	}
}

// headEdit makes the first exact edit of r's image name that variableFrom
// would, or reports that there is none.
func (p *editPlan) headEdit(r *Ref) bool {
	host := argHost(p.opts.AccountArg, p.opts.RegionArg)
	if v, err := p.resolve(nil, r.stage); err == nil && p.exact(v, r) {
		r.URI = host + "/" + r.Repository + splitSuffix(r.expanded)
		p.usesArgs = true
		p.pin(r)
		return true
	}
	lv, _ := p.levels(r)
	for _, insert := range []bool{false, true} {
		for j := len(lv) - 1; j >= 0; j-- {
			if _, ok := p.tryHead(r, lv[j], insert, host); ok {
				return true
			}
		}
	}
	return false
}

// tryHead tries one edit of the head of l: replace it, or with insert,
// write the ECR host and registry prefix before it. It makes the edit and
// returns true when the edit is exact, else says why not.
func (p *editPlan) tryHead(r *Ref, l level, insert bool, host string) (string, bool) {
	tok, _ := headToken(l.text)
	if tok == "" {
		return "", false
	}
	where := "the FROM"
	if l.arg != "" {
		where = "ARG " + l.arg
	}
	if l.at < 0 {
		return where + " is split across lines or quoted", false
	}
	var repl, uri string
	if insert {
		// <host>/<prefix>/ before the head: exact only when the mapping to
		// ECR adds the prefix and changes nothing else.
		prefix := strings.TrimSuffix(r.Repository, reference.Path(r.named))
		repl = host + "/" + prefix
		// Only for values that vary with the build platform: a value from
		// --build-arg may name any registry.
		if !strings.HasPrefix(tok, "$") || !strings.HasSuffix(prefix, "/") || reference.Domain(r.named) != "docker.io" ||
			!strings.HasPrefix(p.external(tok), "the build platform") {
			return "", false
		}
		uri = host + "/" + r.Repository + splitSuffix(r.expanded)
		tok = ""
	} else {
		if ext := p.external(tok); ext != "" {
			return where + " takes its value from " + ext, false
		}
		hv, _, err := p.expand(tok)
		if err != nil || !strings.HasPrefix(r.expanded, hv) {
			return "", false
		}
		rest := r.expanded[len(hv):]
		switch {
		case rest == "" && strings.HasPrefix(tok, "$"):
			// The variable spells the whole reference.
			repl = host + "/" + r.Repository + namedSuffix(r.named)
			if d := p.opts.Pins[r.Reference]; d != "" && !strings.Contains(repl, "@") {
				repl += "@" + d
			}
			uri = repl
		case rest == "":
			var ok bool
			if repl, ok = p.target(tok, r, host); !ok {
				return "", false
			}
			uri = repl
		default:
			uri = host + "/" + r.Repository + splitSuffix(r.expanded)
			if !strings.HasSuffix(uri, rest) {
				return where + ": the rest of the name does not line up with the ECR repository " + r.Repository, false
			}
			repl = uri[:len(uri)-len(rest)]
		}
	}
	if x := p.index(); !x.ok {
		return "", false
	} else if l.arg != "" && x.spent > x.budget {
		return where + ": not tried, the file's ARG edits took too long to check", false
	}
	edited := l.full[:l.off] + repl + l.full[l.off+len(tok):]
	next := p.try(l.arg, edited, r.stage)
	if next.err {
		return "", false
	}
	if v, err := p.resolve(next, r.stage); err != nil || !p.exact(v, r) {
		return where + ": the edit would not resolve to " + r.Repository, false
	}
	if bad := p.check(next); bad != "" {
		return where + ": " + bad, false
	}
	p.commit(next)
	p.commits++
	p.edits = append(p.edits, edit{at: span{l.at, l.at + len(tok)}, text: repl})
	if a := p.args[l.arg]; a != nil && (p.firstArg == 0 || a.line < p.firstArg) {
		p.firstArg = a.line
	}
	r.URI = uri
	p.usesArgs = true
	p.pin(r)
	return "", true
}

// pin adds the digest a mirror resolved (--pin) to a FROM pointed at ECR
// through its ARGs, at the end of the FROM where the tag is: the ARG
// default names the repository only.
func (p *editPlan) pin(r *Ref) {
	d := p.opts.Pins[r.Reference]
	if d == "" || strings.Contains(r.URI, "@") || strings.Contains(r.Text, "@") || r.text.end == 0 {
		return
	}
	p.edits = append(p.edits, edit{at: span{r.text.end, r.text.end}, text: "@" + d})
	r.URI += "@" + d
}

// splitSuffix is the ":tag@digest" of a reference without variables.
func splitSuffix(s string) string {
	_, suffix := splitRef(s)
	return suffix
}

// namedSuffix is the tag and digest of a parsed reference.
func namedSuffix(named reference.Named) string {
	s := ""
	if t, ok := named.(reference.Tagged); ok {
		s += ":" + t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		s += "@" + d.Digest().String()
	}
	return s
}

// redeclared lists, per stage, the meta ARGs it declares again, which
// brings their values into the stage's instructions.
func (f *file) redeclared() [][]string {
	out := make([][]string, len(f.stages))
	for i, st := range f.stages {
		for _, cmd := range st.Commands {
			if a, ok := cmd.(*instructions.ArgCommand); ok {
				for _, kv := range a.Args {
					if _, meta := f.args[kv.Key]; meta && kv.Value == nil {
						out[i] = append(out[i], kv.Key)
					}
				}
			}
		}
	}
	return out
}

// headToken is how text starts: a variable ($NAME or ${...}, with name set
// when it is a plain $NAME or ${NAME}), or the literal up to the first $.
func headToken(text string) (tok, name string) {
	if !strings.HasPrefix(text, "$") {
		if i := strings.IndexByte(text, '$'); i >= 0 {
			return text[:i], ""
		}
		return text, ""
	}
	if strings.HasPrefix(text, "${") {
		depth := 0
		for i := 1; i < len(text); i++ {
			switch text[i] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					tok = text[:i+1]
					if n := tok[2 : len(tok)-1]; ValidArgName(n) {
						name = n
					}
					return tok, name
				}
			}
		}
		return "", ""
	}
	i := 1
	for i < len(text) && (text[i] == '_' || text[i] >= 'a' && text[i] <= 'z' || text[i] >= 'A' && text[i] <= 'Z' || i > 1 && text[i] >= '0' && text[i] <= '9') {
		i++
	}
	if i == 1 {
		return "", ""
	}
	return text[:i], text[1:i]
}

// otherUse says where a meta ARG is used other than in an image name: an
// ARG in a stage brings it into that stage's instructions, and FROM
// --platform reads it. It is empty when there is no such use.
func (p *editPlan) otherUse(name string) string {
	for i, st := range p.stages {
		if slices.Contains(p.stageArgs[i], name) {
			return fmt.Sprintf("the stage on line %d also uses", st.Location[0].Start.Line)
		}
		if st.Platform != "" {
			if res, err := p.lex.ProcessWordWithMatches(st.Platform, p.env); err == nil {
				if _, ok := res.Matched[name]; ok {
					return fmt.Sprintf("FROM --platform on line %d also uses", st.Location[0].Start.Line)
				}
			}
		}
	}
	return ""
}
