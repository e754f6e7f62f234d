package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// file is one Dockerfile under analysis.
type file struct {
	name   string
	opts   Options
	src    *lineIndex
	escape byte
	lex    *shell.Lex
	stages []instructions.Stage // with their ARG instructions only
	// fromWords[i] is the image word of stage i's FROM, uses the
	// instructions that name images besides FROM, in file order.
	fromWords []string
	uses      []use
	fromRefs  []int          // fromRefs[i] indexes the FROM of stage i in refs
	named     map[string]int // the first stage of each name
	env       *env
	args      map[string]*metaArg // meta ARGs by name, last declaration wins
	// auto are the automatic platform arguments, metaCmds the meta ARG
	// instructions and declared how often each name is declared: replay
	// evaluates them again with other defaults.
	auto     [][2]string
	metaCmds []instructions.ArgCommand
	declared map[string]int
	ecr      *argEnv // the meta ARGs with the account and region set; see ecrEnv
	// firstLine is the line of the first instruction, where the ARG block
	// goes.
	firstLine int
	refs      []Ref
	indexRefs []indexRef // numeric --from=N, renumbered after alias stages
	warnings  []*Error
	parsed    map[string]reference.Named
	repos     map[string]string
}

// metaArg is an ARG declared before the first FROM.
type metaArg struct {
	line     int
	value    string
	set      bool // has a value (BuildKit leaves ARG X without one unset)
	buildArg bool // the value came from --build-arg
	def      string
	defSpan  span // bytes of the default in the file; end 0 when none
	// missing are the variables without a value that the default used.
	missing map[string]struct{}
	// external says where the value comes from when the file does not
	// decide it (--build-arg, the build platform), directly or through the
	// default of an ARG it uses; empty otherwise.
	external string
}

// indexRef is a numeric stage index in --from, located in the file.
type indexRef struct {
	index int
	at    span
}

// lint is a linter that reports nothing: instructions.Parse needs one to
// read `# check=` comments.
var lint = linter.New(&linter.Config{})

var errNoStages = errors.New("no FROM instruction: not a Dockerfile")

func analyze(name string, data []byte, opts Options) (*file, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	f := &file{name: name, opts: opts, args: map[string]*metaArg{}}
	// BuildKit reads bytes, not UTF-8: a Latin-1 comment is fine and its
	// bytes are kept. A NUL byte is never in a Dockerfile.
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{File: name, Err: ErrBinary}
	}
	if len(bytes.TrimSpace(bytes.TrimPrefix(data, bom))) == 0 {
		return nil, &Error{File: name, Err: ErrEmpty}
	}
	f.src = newLineIndex(data, '\\')
	res, err := parseFile(data, f.src, parseWindow)
	if err != nil {
		return nil, f.parseError(err)
	}
	f.escape = byte(res.escape)
	f.src.escape = f.escape
	f.lex = shell.NewLex(res.escape)
	f.firstLine = res.firstLine
	stages, metaArgs := res.stages, res.metaArgs
	if len(stages) == 0 {
		return nil, &Error{File: name, Line: f.firstLine, Err: errNoStages}
	}
	f.fromWords, f.uses = res.fromWords, res.uses
	// A reference for the syntax, each FROM and most uses: appending to a
	// slice grown as it goes would hold up to twice that at once.
	f.refs = make([]Ref, 0, 1+len(stages)+len(res.uses))
	f.stages = stages
	if err := f.metaArgs(metaArgs); err != nil {
		return nil, err
	}
	if err := f.syntax(data); err != nil {
		return nil, err
	}
	for i := range stages {
		if err := f.stage(i); err != nil {
			return nil, err
		}
	}
	f.uses = nil
	return f, nil
}

// parseError turns a BuildKit parse error into an Error at its line.
func (f *file) parseError(err error) error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "dockerfile parse error on line ") && i > 0 {
		msg = msg[i+2:]
	}
	return &Error{File: f.name, Line: line, Err: errors.New(excerpt(msg))}
}

func (f *file) errorf(line int, format string, args ...any) error {
	return &Error{File: f.name, Line: line, Err: fmt.Errorf(format, args...)}
}

// metaArgs evaluates the ARGs before the first FROM with BuildKit's rules:
// the automatic platform arguments exist, a --build-arg applies only to a
// declared ARG, and a default is expanded with the ARGs declared above it.
func (f *file) metaArgs(cmds []instructions.ArgCommand) error {
	f.env = newEnv()
	p, err := platforms.Parse(f.opts.Platform)
	if err != nil {
		return fmt.Errorf("parsing platform %q: %w", f.opts.Platform, err)
	}
	p = platforms.Normalize(p)
	target := f.stages[len(f.stages)-1].Name
	if target == "" {
		target = "default"
	}
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(p)}, {"BUILDOS", p.OS}, {"BUILDOSVERSION", p.OSVersion},
		{"BUILDARCH", p.Architecture}, {"BUILDVARIANT", p.Variant},
		{"TARGETPLATFORM", platforms.Format(p)}, {"TARGETOS", p.OS}, {"TARGETOSVERSION", p.OSVersion},
		{"TARGETARCH", p.Architecture}, {"TARGETVARIANT", p.Variant}, {"TARGETSTAGE", target},
	} {
		v := kv[1]
		if o, ok := f.opts.BuildArgs[kv[0]]; ok {
			v = o
		}
		f.env.set(kv[0], v)
		f.auto = append(f.auto, [2]string{kv[0], v})
	}
	f.metaCmds = cmds
	f.declared = map[string]int{}
	for _, cmd := range cmds {
		line := cmd.Location()[0].Start.Line
		defs := f.argDefaults(line)
		for _, kv := range cmd.Args {
			a := &metaArg{line: line}
			f.declared[kv.Key]++
			if kv.Value != nil {
				a.def = *kv.Value
				if at, ok := defs[kv.Key]; ok {
					// The default as spelled in the file, without quotes.
					a.defSpan, a.def = at, string(f.src.data[at.start:at.end])
				}
			}
			if v, ok := f.opts.BuildArgs[kv.Key]; ok {
				a.value, a.set, a.buildArg = v, true, true
				a.external = "--build-arg " + kv.Key
			} else if kv.Value != nil {
				v, missing, err := f.expand(*kv.Value)
				if err != nil {
					return f.errorf(line, "expanding ARG %s: %v", kv.Key, err)
				}
				a.value, a.set, a.missing = v, true, missing
				a.external = f.external(*kv.Value)
			}
			if a.set {
				f.env.set(kv.Key, a.value)
			}
			f.args[kv.Key] = a
		}
	}
	return nil
}

// expand expands word with the meta ARGs. missing names the variables that
// had no value, directly or through the default of an ARG it used.
func (f *file) expand(word string) (string, map[string]struct{}, error) {
	if !strings.ContainsRune(word, '$') && !strings.ContainsAny(word, "\"'"+string(rune(f.escape))) {
		return word, nil, nil // nothing to expand: the lexer would return it as is
	}
	env := &boundedEnv{env: f.env, budget: maxExpansion}
	res, err := f.lex.ProcessWordWithMatches(word, env)
	if err == nil && env.budget < 0 {
		err = errExpansion
	}
	if err != nil {
		return "", nil, err
	}
	missing := res.Unmatched
	for k := range res.Matched {
		if a := f.args[k]; a != nil && !a.buildArg {
			for m := range a.missing {
				if missing == nil {
					missing = map[string]struct{}{}
				}
				missing[m] = struct{}{}
			}
		}
	}
	return res.Result, missing, nil
}

// external says where a value that word uses comes from when the file
// does not decide it: "--build-arg NAME" or "the build platform (NAME)";
// empty when the file decides every value. Such a value belongs to the
// build, so the rewrite never writes it into the file.
func (f *file) external(word string) string {
	if !strings.ContainsRune(word, '$') {
		return ""
	}
	res, err := f.lex.ProcessWordWithMatches(word, f.env)
	if err != nil {
		return ""
	}
	keys := slices.Sorted(maps.Keys(res.Matched))
	for _, k := range keys {
		a := f.args[k]
		if a != nil && a.external != "" {
			return a.external
		}
		if (a == nil || a.def == "") && slices.ContainsFunc(f.auto, func(kv [2]string) bool { return kv[0] == k }) {
			return "the build platform (" + k + ")"
		}
	}
	return ""
}

// argDefaults locates the default values of the ARG instruction on line n.
func (f *file) argDefaults(n int) map[string]span {
	text, pos := f.src.logical(n)
	out := map[string]span{}
	for _, w := range words(text, f.escape)[1:] {
		k, v, ok := bytes.Cut(text[w.start:w.end], []byte("="))
		if !ok {
			continue
		}
		start := w.start + len(k) + 1
		end := w.end
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			start, end = start+1, end-1
		}
		if s, ok := f.fileSpan(text, pos, start, end); ok {
			out[string(k)] = s
		}
	}
	return out
}

// fileSpan maps a range of a logical line back to the file, when its bytes
// are contiguous there (not split by a line continuation) and spell the
// value literally (no quotes or escapes inside).
func (f *file) fileSpan(text []byte, pos []int, start, end int) (span, bool) {
	if start >= end || end > len(pos) {
		return span{}, false
	}
	if bytes.ContainsAny(text[start:end], "\"'"+string(rune(f.escape))) {
		return span{}, false
	}
	if pos[end-1]-pos[start] != end-1-start {
		return span{}, false
	}
	return span{pos[start], pos[end-1] + 1}, true
}

// syntax records the image of a `# syntax=` directive, found exactly as
// BuildKit's parser.DetectSyntax finds it.
func (f *file) syntax(data []byte) error {
	img, _, loc, ok := parser.DetectSyntax(data)
	if !ok || img == "" {
		return nil
	}
	line := 0
	if len(loc) > 0 {
		line = loc[0].Start.Line
	}
	r := Ref{File: f.name, Line: line, Kind: KindSyntax, Text: img, stage: -1}
	if raw, off := f.src.line(line); raw != nil {
		if eq := bytes.IndexByte(raw, '='); eq >= 0 {
			i := eq + 1
			for i < len(raw) && isSpace(raw[i]) {
				i++
			}
			if bytes.HasPrefix(raw[i:], []byte(img)) {
				r.text = span{off + i, off + i + len(img)}
			}
		}
	}
	if err := f.image(&r, img, nil); err != nil {
		return err
	}
	f.refs = append(f.refs, r)
	return nil
}

// stage records the references of stage i: its FROM and the --from of its
// COPY and RUN --mount instructions, ONBUILD triggers included.
func (f *file) stage(i int) error {
	st := f.stages[i]
	line := st.Location[0].Start.Line
	r := Ref{File: f.name, Line: line, Kind: KindFrom, Text: st.BaseName, stage: i, expanded: st.BaseName}
	if w := f.fromWords[i]; w != "" {
		r.text = f.fromSpan(line, w)
	}
	expanded, unmatched, err := f.expand(st.BaseName)
	if err != nil {
		return f.errorf(line, "expanding %q: %v", st.BaseName, err)
	}
	r.expanded = expanded
	lower := strings.ToLower(expanded)
	switch {
	case lower == "scratch":
		r.Status = StatusScratch
	case lower != "" && f.stageNamed(lower) >= 0 && f.stageNamed(lower) < i:
		r.Status = StatusStage
	default:
		if err := f.image(&r, expanded, unmatched); err != nil {
			return err
		}
	}
	f.fromRefs = append(f.fromRefs, len(f.refs))
	f.refs = append(f.refs, r)

	for len(f.uses) > 0 && f.uses[0].stage == i {
		u := f.uses[0]
		f.uses = f.uses[1:]
		var err error
		if u.kind == "" {
			err = f.onbuild(i, u.line, u.value)
		} else {
			err = f.from(i, u.line, u.kind, u.value, u.mount, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// onbuild records the --from references of the ONBUILD trigger expr on
// line, in stage i.
func (f *file) onbuild(i, line int, expr string) error {
	res, err := parser.Parse(strings.NewReader(expr))
	if err != nil || len(res.AST.Children) != 1 {
		return f.errorf(line, "parsing ONBUILD %s: %v", expr, err)
	}
	inner, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return f.parseErrorAt(line, err)
	}
	if loc := inner.Location(); len(loc) > 0 {
		// The trigger was parsed on its own; report the ONBUILD line.
		loc[0].Start.Line, loc[0].End.Line = line, line
	}
	return f.command(i, inner, true)
}

// command records the --from references of one instruction of stage i.
func (f *file) command(i int, cmd instructions.Command, onbuild bool) error {
	line := cmd.Location()[0].Start.Line
	switch c := cmd.(type) {
	case *instructions.OnbuildCommand:
		return f.onbuild(i, line, c.Expression)
	case *instructions.CopyCommand:
		if c.From != "" {
			return f.from(i, line, KindCopyFrom, c.From, 0, onbuild)
		}
	case *instructions.RunCommand:
		for m, mount := range instructions.GetMounts(c) {
			if mount.From != "" {
				if err := f.from(i, line, KindMountFrom, mount.From, m, onbuild); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (f *file) parseErrorAt(line int, err error) error {
	e := f.parseError(err).(*Error)
	e.Line = line
	return e
}

// from records a COPY --from or RUN --mount from= value. Like BuildKit, a
// stage name (anywhere in the file) or a stage index is a stage, and
// anything else is an image; variables are refused.
func (f *file) from(i, line int, kind Kind, value string, mount int, onbuild bool) error {
	r := Ref{File: f.name, Line: line, Kind: kind, Text: value, stage: i, OnBuild: onbuild}
	// In an ONBUILD trigger the flags follow ONBUILD and the instruction.
	first := 1
	if onbuild {
		first = 2
	}
	at, located := f.flagSpan(line, kind, mount, first)
	if located {
		r.text = at
	}
	if strings.ContainsAny(value, "$") {
		return f.errorf(line, "variable in --from=%s: BuildKit does not expand variables here; use a stage (FROM ${VAR} AS name)", value)
	}
	lower := strings.ToLower(value)
	stage := -1
	// A number is a stage index. BuildKit reads one in RUN --mount from= as
	// an image named "0", which no registry has; a stage is what its
	// author meant.
	if n, err := strconv.Atoi(value); err == nil {
		if n < 0 || n >= len(f.stages) {
			return f.errorf(line, "invalid stage index %d", n)
		}
		stage = n
		if located && !onbuild {
			f.indexRefs = append(f.indexRefs, indexRef{index: n, at: at})
		}
	} else if lower == "scratch" {
		r.Status = StatusScratch
	} else if stage = f.stageNamed(lower); stage < 0 {
		if err := f.image(&r, value, nil); err != nil {
			return err
		}
	}
	if stage >= 0 {
		r.Status = StatusStage
		// BuildKit builds stages in order: a stage can only read from one
		// defined before it.
		if stage >= i && !onbuild {
			return f.errorf(line, "--from=%s: stage %q must be defined before the stage that uses it", value, f.stages[stage].Name)
		}
	}
	f.refs = append(f.refs, r)
	return nil
}

// image resolves an image reference and decides its status.
func (f *file) image(r *Ref, expanded string, unmatched map[string]struct{}) error {
	named, err := f.parse(expanded)
	if f.writtenECR(r.Text, 0) || f.evaluatesToECR(r.Text) {
		// Already pulled from ECR through build arguments, which may have
		// no value here.
		r.Status = StatusAlreadyECR
		if err == nil {
			r.Reference = reference.TagNameOnly(named).String()
		}
		r.Upstream, r.Repository = f.upstream(r.Text)
		return nil
	}
	if err != nil {
		if len(unmatched) > 0 || expanded == "" {
			r.Status = StatusUnresolved
			r.Note = "no value for " + hint(unmatched, r.Text)
			if f.opts.Strict {
				return &Error{File: f.name, Line: r.Line, Err: fmt.Errorf("%w %s: %s", ErrUnresolved, r.Text, r.Note)}
			}
			f.warnings = append(f.warnings, &Error{File: f.name, Line: r.Line, Err: fmt.Errorf("cannot resolve %s: %s", r.Text, r.Note)})
			return nil
		}
		return f.errorf(r.Line, "invalid image reference %q: %v", expanded, err)
	}
	named = reference.TagNameOnly(named)
	r.Reference, r.named = named.String(), named
	domain := NormalizeRegistry(reference.Domain(named))
	switch {
	case IsECRHost(domain):
		r.Status = StatusAlreadyECR
		return nil
	case len(f.opts.Only) > 0 && !slices.Contains(f.opts.Only, domain):
		r.Status, r.Note = StatusExcluded, "registry "+domain+" is not in --only"
		return nil
	}
	if p := f.excluded(named); p != "" {
		r.Status, r.Note = StatusExcluded, "matches --exclude "+p
		return nil
	}
	repo, err := f.repository(named)
	if err != nil {
		return f.errorf(r.Line, "mapping %s to ECR: %v", r.Reference, err)
	}
	r.Repository, r.Upstream = repo, r.Reference
	r.Status = StatusRewrite
	return nil
}

// reversePrefix splits an ECR repository name into the registry its prefix
// stands for and the path there: docker-hub/library/python gives docker.io
// and library/python.
func (f *file) reversePrefix(repo string) (registry, path string) {
	best := -1
	try := func(reg, prefix string) {
		if prefix != "" && len(prefix) > best && strings.HasPrefix(repo, prefix+"/") {
			registry, path, best = reg, repo[len(prefix)+1:], len(prefix)
		}
	}
	for reg, prefix := range pullThroughPrefixes {
		if _, overridden := f.opts.Prefixes[reg]; !overridden {
			try(reg, prefix)
		}
	}
	for reg, prefix := range f.opts.Prefixes {
		try(reg, prefix)
	}
	if best < 0 {
		// Other registries use their host as the prefix.
		if host, rest, ok := strings.Cut(repo, "/"); ok && strings.Contains(host, ".") && DefaultPrefix(host) == host {
			return host, rest
		}
	}
	return registry, path
}

// parse is reference.ParseNormalizedNamed, remembered per file: the same
// image tends to appear many times.
func (f *file) parse(s string) (reference.Named, error) {
	if n, ok := f.parsed[s]; ok {
		return n, nil
	}
	n, err := reference.ParseNormalizedNamed(s)
	if err == nil {
		if f.parsed == nil {
			f.parsed = map[string]reference.Named{}
		}
		f.parsed[s] = n
	}
	return n, err
}

// repository is the package's repository, remembered per image name.
func (f *file) repository(named reference.Named) (string, error) {
	if r, ok := f.repos[named.Name()]; ok {
		return r, nil
	}
	r, err := repository(named, f.opts.Prefixes)
	if err == nil {
		if f.repos == nil {
			f.repos = map[string]string{}
		}
		f.repos[named.Name()] = r
	}
	return r, err
}

// hint names the build arguments a reference needs.
func hint(unmatched map[string]struct{}, text string) string {
	names := make([]string, 0, len(unmatched))
	for k := range unmatched {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return text + "; pass --build-arg with a value"
	}
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	b.WriteString("; pass")
	for _, n := range names {
		b.WriteString(" --build-arg " + n + "=...")
	}
	return b.String()
}

// writtenECR reports whether text, or the ARG default it stands for, is
// written as an ECR URI, such as ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}...
func (f *file) writtenECR(text string, depth int) bool {
	if strings.Contains(text, ".dkr.ecr") && ecrWritten.MatchString(text) {
		return true
	}
	if v := wholeVar(text); v != "" && depth < 16 {
		if a := f.args[v]; a != nil && !a.buildArg && a.def != "" {
			return f.writtenECR(a.def, depth+1)
		}
	}
	return false
}

var ecrWritten = regexp.MustCompile(`^[^/]*\.dkr\.ecr(-fips)?\.[^/]*\.amazonaws\.com(\.cn)?/`)

// wholeVar returns NAME when text is exactly $NAME or ${NAME}.
func wholeVar(text string) string {
	var name string
	switch {
	case strings.HasPrefix(text, "${") && strings.HasSuffix(text, "}"):
		name = text[2 : len(text)-1]
	case strings.HasPrefix(text, "$"):
		name = text[1:]
	default:
		return ""
	}
	if !ValidArgName(name) {
		return ""
	}
	return name
}

func (f *file) excluded(named reference.Named) string {
	candidates := []string{named.String(), named.Name(), reference.FamiliarName(named), reference.FamiliarString(named)}
	for _, p := range f.opts.Exclude {
		for _, c := range candidates {
			if ok, _ := path.Match(p, c); ok {
				return p
			}
		}
	}
	return ""
}

// fromSpan locates the image word of the FROM on line n.
func (f *file) fromSpan(n int, want string) span {
	text, pos := f.src.logical(n)
	ws := words(text, f.escape)
	for i := 1; i < len(ws); i++ {
		w := text[ws[i].start:ws[i].end]
		if bytes.HasPrefix(w, []byte("--")) {
			continue
		}
		if string(w) == want {
			if s, ok := f.fileSpan(text, pos, ws[i].start, ws[i].end); ok {
				return s
			}
		}
		break
	}
	return span{}
}

// flagSpan locates the value of --from (COPY) or of from= in the mount-th
// --mount flag (RUN) on line n, whose flags start at word first.
func (f *file) flagSpan(n int, kind Kind, mount, first int) (span, bool) {
	text, pos := f.src.logical(n)
	ws := words(text, f.escape)
	if len(ws) <= first {
		return span{}, false
	}
	seen := 0
	for _, w := range ws[first:] {
		word := text[w.start:w.end]
		if !bytes.HasPrefix(word, []byte("--")) || string(word) == "--" {
			break
		}
		name, value, _ := bytes.Cut(word[2:], []byte("="))
		start := w.start + 2 + len(name) + 1
		switch {
		case kind == KindCopyFrom && string(name) == "from":
			end := w.end
			if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
				start, end = start+1, end-1
			}
			return f.fileSpan(text, pos, start, end)
		case kind == KindMountFrom && string(name) == "mount":
			if seen++; seen-1 != mount {
				continue
			}
			// BuildKit keeps the last from= of a mount.
			off, at, found := start, span{}, false
			for _, field := range bytes.Split(value, []byte(",")) {
				trimmed := bytes.TrimLeft(field, `"'`)
				k, v, ok := bytes.Cut(bytes.TrimRight(trimmed, `"'`), []byte("="))
				if ok && strings.EqualFold(string(bytes.TrimSpace(k)), "from") {
					vs := off + len(field) - len(trimmed) + len(k) + 1
					at, found = f.fileSpan(text, pos, vs, vs+len(v))
				}
				off += len(field) + 1
			}
			return at, found
		}
	}
	return span{}, false
}
