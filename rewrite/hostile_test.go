package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

// TestArgDoubling: ARGs that each use the one before twice would spell a
// value of 2^40 bytes; the expansion stops at its budget with an error at
// the first ARG over it, instead of exhausting memory.
func TestArgDoubling(t *testing.T) {
	var b strings.Builder
	b.WriteString("ARG A0=xx\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "ARG A%d=${A%d}${A%d}\n", i, i-1, i-1)
	}
	b.WriteString("FROM alpine:${A39}\n")
	_, err := File("Dockerfile", []byte(b.String()), Options{})
	want := "Dockerfile:17: expanding ARG A16: variables expand to more than 64 KiB"
	if err == nil || err.Error() != want {
		t.Errorf("File(doubling ARGs) = %v, want %q", err, want)
	}
	// Values up to the budget still work.
	ok := "ARG A=" + strings.Repeat("a", 1000) + "\nARG B=${A}${A}\nFROM alpine:3.19\n"
	if _, err := File("Dockerfile", []byte(ok), Options{}); err != nil {
		t.Errorf("File(2000-byte ARG) = %v", err)
	}
}
