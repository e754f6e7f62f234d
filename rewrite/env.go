package rewrite

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
