package compose

import (
	"context"
	"os"
	"testing"

	"ecrbase/rewrite"
)

// BenchmarkFile rewrites the compose-app example's compose file: compose-go's
// loader (schema, interpolation, normalisation) plus the node walk.
func BenchmarkFile(b *testing.B) {
	name := "../examples/compose-app/compose.yaml"
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Options: rewrite.Options{Region: "us-east-1"}, Environ: []string{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := File(context.Background(), name, data, opts); err != nil {
			b.Fatal(err)
		}
	}
}
