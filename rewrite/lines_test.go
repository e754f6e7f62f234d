package rewrite

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestContinuesMatchesBuildKit checks the line-continuation rule against
// the regular expression BuildKit's parser uses, on every short line over
// the characters that matter.
func TestContinuesMatchesBuildKit(t *testing.T) {
	for _, escape := range []rune{'\\', '`'} {
		e := regexp.QuoteMeta(string(escape))
		re := regexp.MustCompile(`([^` + e + `])` + e + `[ \t]*$|^` + e + `[ \t]*$`)
		s := &lineIndex{escape: byte(escape)}
		alphabet := []byte{'a', ' ', '\t', '\\', '`'}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 20000 {
			line := make([]byte, rng.IntN(7))
			for i := range line {
				line[i] = alphabet[rng.IntN(len(alphabet))]
			}
			end, ok := s.continues(line)
			m := re.FindSubmatchIndex(line)
			wantEnd := 0
			if m != nil && m[2] >= 0 {
				wantEnd = m[3]
			}
			if ok != (m != nil) || (ok && end != wantEnd) {
				t.Fatalf("escape %q, line %q: continues = %d, %v; BuildKit's rule gives %v at %d", escape, line, end, ok, m != nil, wantEnd)
			}
		}
	}
}
