package rewrite

import "errors"

// env is the set of meta ARGs visible to FROM, in declaration order. It
// implements BuildKit's shell.EnvGetter.
type env struct {
	keys []string
	vals map[string]string
}

func newEnv() *env { return &env{vals: map[string]string{}} }

func (e *env) Get(key string) (string, bool) {
	v, ok := e.vals[key]
	return v, ok
}

func (e *env) Keys() []string { return e.keys }

func (e *env) set(key, value string) {
	if _, ok := e.vals[key]; !ok {
		e.keys = append(e.keys, key)
	}
	e.vals[key] = value
}

// maxExpansion bounds the bytes of variables one word may expand to. ARGs
// that each use the one before twice double at every line, so a page of
// them would otherwise spell gigabytes; real values are a few bytes.
const maxExpansion = 64 << 10

var errExpansion = errors.New("variables expand to more than 64 KiB")

// boundedEnv is env with a budget: each value it returns is charged, and
// once the budget is spent it returns empty values, so that the lexer's
// work stays linear in the word and the budget.
type boundedEnv struct {
	env    *env
	budget int
}

func (b *boundedEnv) Get(key string) (string, bool) {
	v, ok := b.env.Get(key)
	if b.budget -= len(v); b.budget < 0 {
		return "", ok
	}
	return v, ok
}

func (b *boundedEnv) Keys() []string { return b.env.Keys() }
