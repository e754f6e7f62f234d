package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

// argShapes are Dockerfiles made mostly of meta ARGs, n of each part:
//   - pairs: ARG In=imgn:1 and FROM ${In}, one ARG per FROM;
//   - shared: one ARG read by n FROMs, one of which cannot take an edit;
//   - chain: ARG An=${An-1}, each FROM reading one link of the chain,
//     and the last link used in a stage, so that no edit of the chain is
//     exact;
//   - uses: pairs whose stages COPY --from and RUN --mount from= images,
//     ARG In again inside the stage, and ONBUILD triggers.
func argShapes(n int) map[string][]byte {
	var pairs, shared, chain, uses strings.Builder
	chain.WriteString("ARG A0=img\n")
	for i := range n {
		fmt.Fprintf(&pairs, "ARG I%d=img%d:1\n", i, i)
		fmt.Fprintf(&uses, "ARG I%d=img%d:1\n", i, i)
		fmt.Fprintf(&chain, "ARG A%d=${A%d}\n", i+1, i)
	}
	shared.WriteString("ARG REG=docker.io\nARG TAG=1\n")
	for i := range n {
		fmt.Fprintf(&pairs, "FROM ${I%d} AS s%d\n", i, i)
		fmt.Fprintf(&shared, "FROM ${REG}/library/img%d:${TAG} AS s%d\n", i, i)
		fmt.Fprintf(&chain, "FROM ${A%d}:%d AS s%d\n", i+1, i, i)
		fmt.Fprintf(&uses, "FROM ${I%d} AS s%d\nARG I%d\nCOPY --from=other%d:2 /a /a\nRUN --mount=type=bind,from=tool%d:3,target=/t true\nONBUILD COPY --from=trigger%d:4 /b /b\n", i, i, i, i, i, i)
	}
	shared.WriteString("FROM scratch\nARG REG\n")
	fmt.Fprintf(&chain, "FROM scratch\nARG A%d\n", n)
	return map[string][]byte{"pairs": []byte(pairs.String()), "shared": []byte(shared.String()),
		"chain": []byte(chain.String()), "uses": []byte(uses.String())}
}

// BenchmarkManyArgFroms rewrites ARG-heavy files (see argShapes): the edit
// plan must stay near linear in the number of ARGs and FROMs.
func BenchmarkManyArgFroms(b *testing.B) {
	for _, n := range []int{500, 2000, 5000} {
		inputs := argShapes(n)
		for _, shape := range []string{"pairs", "shared", "chain", "uses"} {
			data := inputs[shape]
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := File("Dockerfile", data, Options{Region: "us-east-1"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
