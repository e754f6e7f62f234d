package rewrite

// stageNamed returns the index of the first stage called name, or -1. The
// index is built once, so that a file with thousands of stages costs time
// linear in its length, not quadratic.
func (f *file) stageNamed(name string) int {
	if f.named == nil {
		f.named = make(map[string]int, len(f.stages))
		for i := len(f.stages) - 1; i >= 0; i-- {
			f.named[f.stages[i].Name] = i
		}
	}
	if i, ok := f.named[name]; ok {
		return i
	}
	return -1
}
