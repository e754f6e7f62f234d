package compose

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"ecrbase/rewrite"
)

// TestManyAliases: a compose file with more aliases than MaxAliases is one
// error naming the line of the first alias past the limit, before compose's
// loader spends seconds on it; one at the limit is read.
func TestManyAliases(t *testing.T) {
	file := func(n int) []byte {
		var b strings.Builder
		b.WriteString("x-base: &base {image: redis:7, restart: always}\nservices:\n")
		for i := range n {
			fmt.Fprintf(&b, "  s%d:\n    <<: *base\n", i)
		}
		return []byte(b.String())
	}
	name := filepath.Join(t.TempDir(), "compose.yaml")
	opts := Options{Options: rewrite.Options{Region: "us-east-1"}, Environ: []string{}}
	_, err := File(context.Background(), name, file(MaxAliases+1), opts)
	var re *rewrite.Error
	if !errors.As(err, &re) || re.Line != 2+2*(MaxAliases+1) || !strings.Contains(err.Error(), "more than 1000 YAML aliases") {
		t.Errorf("File(%d aliases) = %v, want an error on line %d", MaxAliases+1, err, 2+2*(MaxAliases+1))
	}
	res, err := File(context.Background(), name, file(MaxAliases), opts)
	if err != nil || !res.Changed {
		t.Errorf("File(%d aliases) = %v, want it rewritten", MaxAliases, err)
	}
}
