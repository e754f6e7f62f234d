package rewrite

import (
	"container/heap"
	"slices"
	"sort"
)

// argIndex keeps the value of every meta ARG declaration under the edits
// accepted so far, with which declarations and stages read each name, so
// that an edit is evaluated where it has effect: the declarations that read
// the changed ARG, and the stages whose FROM, --platform or stage ARGs
// read a changed value. Evaluating every ARG and stage again for each edit
// would cost the square of the file's ARGs.
type argIndex struct {
	slots  []argSlot
	byName map[string][]int // slot positions of each name, ascending
	// readers are the declarations whose default reads a name, stages the
	// stages that read it.
	readers map[string][]int
	stages  map[string][]int
	// broken is the first stage whose FROM does not expand in the state
	// the plan starts from, -1 when none: no edit is accepted then.
	broken int
	ok     bool // the meta ARGs evaluate; no edit is accepted otherwise
	// tries holds the edits tried since the last accepted ARG edit;
	// fromLog the stages whose FROM was edited since, in order.
	tries   map[tryKey]*candidate
	fromLog []int
	// spent counts the ARG evaluations and stage checks of ARG edits;
	// past budget no more ARG edits are tried. Each edit costs what reads
	// the ARG, so a long chain of ARGs that no edit can change would
	// otherwise cost its length for each FROM along it.
	spent, budget int
}

// argBudget is the work (ARG evaluations and stage checks) any file may
// spend on ARG edits, past 4 units for each ARG and stage.
const argBudget = 1 << 16

// argSlot is one value a name takes, in the order BuildKit sets them: the
// automatic platform arguments, the account and region stand-ins, then
// each meta ARG declaration.
type argSlot struct {
	name     string
	preset   bool // a value set before the first ARG
	def      string
	hasDef   bool
	build    string
	hasBuild bool
	val      slotVal // the value of name after this slot
}

type slotVal struct {
	v   string
	set bool
}

// candidate is one edit on top of the accepted state: an ARG default or a
// FROM written anew, and the slots whose values change.
type candidate struct {
	arg, argText string
	stage        int // -1 for an ARG edit
	fromText     string
	changed      map[int]slotVal
	err          bool // a default no longer expands
	// checked says check has looked at the stages c changes, ascending;
	// the first of them that is not exact is fail (-1 when none), at
	// index failAt, and bad says why. seen is how much of fromLog the
	// answer takes in.
	checked bool
	stages  []int
	fail    int
	failAt  int
	bad     string
	seen    int
}

type tryKey struct {
	arg, text string
	stage     int
}

// varNames calls fn with the name of each variable word may read: every
// $NAME and ${NAME...}, wherever it is, so it names a superset of what
// the lexer reads.
func varNames(word string, fn func(string)) {
	for i := 0; i < len(word); i++ {
		if word[i] != '$' {
			continue
		}
		j := i + 1
		if j < len(word) && word[j] == '{' {
			j++
			for j < len(word) && (word[j] == '#' || word[j] == '!') {
				j++
			}
		}
		k := j
		for k < len(word) && (word[k] == '_' || word[k] >= 'a' && word[k] <= 'z' || word[k] >= 'A' && word[k] <= 'Z' || word[k] >= '0' && word[k] <= '9') {
			k++
		}
		if k > j {
			fn(word[j:k])
		}
	}
}

// index builds the argIndex of the state the plan starts from.
func (p *editPlan) index() *argIndex {
	if p.argIdx != nil {
		return p.argIdx
	}
	x := &argIndex{byName: map[string][]int{}, readers: map[string][]int{}, stages: map[string][]int{}, broken: -1, ok: true, tries: map[tryKey]*candidate{}}
	p.argIdx = x
	x.budget = argBudget + 4*(len(p.auto)+len(p.stages))
	add := func(s argSlot) {
		pos := len(x.slots)
		x.slots = append(x.slots, s)
		x.byName[s.name] = append(x.byName[s.name], pos)
		if s.hasDef {
			varNames(s.def, func(n string) { x.readers[n] = append(x.readers[n], pos) })
		}
	}
	for _, kv := range p.auto {
		add(argSlot{name: kv[0], preset: true, val: slotVal{kv[1], true}})
	}
	for _, name := range []string{p.opts.AccountArg, p.opts.RegionArg} {
		if p.declared[name] == 0 {
			add(argSlot{name: name, preset: true, val: slotVal{p.placeholder(name), true}})
		}
	}
	for _, cmd := range p.metaCmds {
		for _, kv := range cmd.Args {
			s := argSlot{name: kv.Key}
			if kv.Value != nil {
				s.def, s.hasDef = *kv.Value, true
			}
			s.build, s.hasBuild = p.opts.BuildArgs[kv.Key]
			add(s)
			x.budget += 4
		}
	}
	for j := range x.slots {
		if x.slots[j].preset {
			continue
		}
		v, err := p.evalSlot(x, j, func(string) (string, bool) { return "", false }, nil)
		if err != nil {
			x.ok = false
			return x
		}
		x.slots[j].val = v
	}
	for i, st := range p.stages {
		text := st.BaseName
		if t, ok := p.state.froms[i]; ok {
			text = t
		}
		p.stageReads(x, i, text)
		if st.Platform != "" {
			p.stageReads(x, i, st.Platform)
		}
		for _, name := range p.stageArgs[i] {
			x.stages[name] = append(x.stages[name], i)
		}
		if x.broken < 0 {
			if _, err := p.resolve(nil, i); err != nil {
				x.broken = i
			}
		}
	}
	return x
}

func (p *editPlan) stageReads(x *argIndex, i int, word string) {
	varNames(word, func(n string) {
		if s := x.stages[n]; len(s) == 0 || s[len(s)-1] != i {
			x.stages[n] = append(x.stages[n], i)
		}
	})
}

// placeholder is the stand-in value of the account or region build
// argument, or of a --build-arg of that name.
func (p *editPlan) placeholder(name string) string {
	v := placeholderAccount
	if name == p.opts.RegionArg {
		v = placeholderRegion
		if p.opts.Region != "" {
			v = p.opts.Region
		}
	}
	if bv, ok := p.opts.BuildArgs[name]; ok {
		v = bv
	}
	return v
}

// evalSlot is the value of the name of slot j with BuildKit's rules, as
// replay evaluates it, reading earlier slots through changed.
func (p *editPlan) evalSlot(x *argIndex, j int, over func(string) (string, bool), changed map[int]slotVal) (slotVal, error) {
	s := &x.slots[j]
	var out slotVal
	if s.hasBuild {
		out = slotVal{s.build, true}
	} else if def, ok := over(s.name); ok || s.hasDef {
		if !ok {
			def = s.def
		}
		res, err := p.lex.ProcessWordWithMatches(def, slotEnv{x, changed, j})
		if err != nil {
			return out, err
		}
		out = slotVal{res.Result, true}
	}
	if (s.name == p.opts.AccountArg || s.name == p.opts.RegionArg) && out.v == "" {
		out = slotVal{placeholderAccount, true}
		if s.name == p.opts.RegionArg {
			out.v = placeholderRegion
			if p.opts.Region != "" {
				out.v = p.opts.Region
			}
		}
	}
	if out.set {
		return out, nil
	}
	// ARG NAME without a value keeps the one it had.
	pos := x.byName[s.name]
	k := sort.SearchInts(pos, j)
	if k == 0 {
		return slotVal{}, nil
	}
	return x.value(changed, pos[k-1]), nil
}

func (x *argIndex) value(changed map[int]slotVal, j int) slotVal {
	if v, ok := changed[j]; ok {
		return v
	}
	return x.slots[j].val
}

// slotEnv is the meta ARGs as BuildKit sees them before slot at; at
// len(slots) it is what FROM sees.
type slotEnv struct {
	x       *argIndex
	changed map[int]slotVal
	at      int
}

func (e slotEnv) Get(key string) (string, bool) {
	pos := e.x.byName[key]
	k := sort.SearchInts(pos, e.at)
	if k == 0 {
		return "", false
	}
	v := e.x.value(e.changed, pos[k-1])
	return v.v, v.set
}

func (e slotEnv) Keys() []string { return nil }

// intHeap is a min-heap of slot positions.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(v any)        { *h = append(*h, v.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// try is the candidate state with one more edit: ARG arg's default written
// as text, or, when arg is empty, the FROM of stage written as text. Only
// the declarations that read a changed value are evaluated again.
func (p *editPlan) try(arg, text string, stage int) *candidate {
	x := p.index()
	key := tryKey{arg, text, stage}
	if arg != "" {
		key.stage = -1
	}
	if c := x.tries[key]; c != nil {
		return c
	}
	c := &candidate{arg: arg, argText: text, stage: -1}
	x.tries[key] = c
	if arg == "" {
		c.stage, c.fromText = stage, text
		return c
	}
	look := func(name string) (string, bool) {
		if name == arg {
			return text, true
		}
		v, ok := p.state.over[name]
		return v, ok
	}
	c.changed = map[int]slotVal{}
	queued := map[int]bool{}
	h := &intHeap{}
	push := func(j int) {
		if !queued[j] {
			queued[j] = true
			heap.Push(h, j)
		}
	}
	for _, j := range x.byName[arg] {
		push(j)
	}
	for h.Len() > 0 {
		j := heap.Pop(h).(int)
		if x.slots[j].preset {
			continue
		}
		x.spent++
		v, err := p.evalSlot(x, j, look, c.changed)
		if err != nil {
			c.err = true
			return c
		}
		if v == x.slots[j].val {
			continue
		}
		c.changed[j] = v
		name := x.slots[j].name
		pos := x.byName[name]
		if k := sort.SearchInts(pos, j); k+1 < len(pos) {
			push(pos[k+1])
		}
		for _, r := range x.readers[name] {
			if r > j {
				push(r)
			}
		}
	}
	return c
}

// changedStages are the stages that may see c differently from the
// accepted state, ascending.
func (p *editPlan) changedStages(c *candidate) []int {
	x := p.index()
	var out []int
	if c.stage >= 0 {
		out = append(out, c.stage)
	}
	for j := range c.changed {
		name := x.slots[j].name
		if pos := x.byName[name]; pos[len(pos)-1] == j {
			out = append(out, x.stages[name]...)
		}
	}
	if x.broken >= 0 {
		out = append(out, x.broken)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// commit makes c the accepted state.
func (p *editPlan) commit(c *candidate) {
	x := p.index()
	for j, v := range c.changed {
		x.slots[j].val = v
	}
	if c.arg != "" {
		p.state.over[c.arg] = c.argText
		for _, j := range x.byName[c.arg] {
			varNames(c.argText, func(n string) { x.readers[n] = append(x.readers[n], j) })
		}
	} else {
		p.state.froms[c.stage] = c.fromText
		p.stageReads(x, c.stage, c.fromText)
		// The values stay: the ARG edits tried so far are checked again
		// on this stage only, when tried again.
		delete(x.tries, tryKey{"", c.fromText, c.stage})
		x.fromLog = append(x.fromLog, c.stage)
		return
	}
	clear(x.tries)
	x.fromLog = x.fromLog[:0]
}

// expandIn expands word as FROM sees it in c, or in the accepted state
// when c is nil.
func (p *editPlan) expandIn(c *candidate, word string) (string, error) {
	x := p.index()
	if !x.ok {
		v, _, err := p.state.env.expand(p.file, word)
		return v, err
	}
	var changed map[int]slotVal
	if c != nil {
		changed = c.changed
	}
	res, err := p.lex.ProcessWordWithMatches(word, slotEnv{x, changed, len(x.slots)})
	if err != nil {
		return "", err
	}
	return res.Result, nil
}

// getIn is the value of a meta ARG as FROM sees it in c, or in the
// accepted state when c is nil.
func (p *editPlan) getIn(c *candidate, name string) string {
	x := p.index()
	if !x.ok {
		v, _ := p.state.env.env.Get(name)
		return v
	}
	var changed map[int]slotVal
	if c != nil {
		changed = c.changed
	}
	v, _ := slotEnv{x, changed, len(x.slots)}.Get(name)
	return v
}
