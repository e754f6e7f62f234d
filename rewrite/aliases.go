package rewrite

import "fmt"

// aliasIndex finds alias stages by URI and by name, so that a file with
// thousands of COPY --from images costs time linear in its length.
type aliasIndex struct {
	byURI map[string]string
	taken map[string]bool
	next  map[string]int // the first suffix of each base name not yet known taken
}

func (x *aliasIndex) add(uri, name string) {
	if x.byURI == nil {
		x.byURI, x.taken = map[string]string{}, map[string]bool{}
	}
	x.byURI[uri], x.taken[name] = name, true
}

// freeName is base, or base-2, base-3... whichever is the first that no
// stage or alias has. Names are only ever added, so the search for a base
// resumes where it last stopped.
func (p *editPlan) freeName(base string) string {
	if !p.stageNameTaken(base) {
		return base
	}
	if p.aliasNames.next == nil {
		p.aliasNames.next = map[string]int{}
	}
	n := max(2, p.aliasNames.next[base])
	for p.stageNameTaken(fmt.Sprintf("%s-%d", base, n)) {
		n++
	}
	p.aliasNames.next[base] = n
	return fmt.Sprintf("%s-%d", base, n)
}
