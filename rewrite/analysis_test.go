package rewrite

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAnalyzeThenRewrite checks, on every golden case, that the analysis
// says what File says, locates each reference where it is written, and can
// be rewritten later with a mirror's digests and region exactly as File
// rewrites with them, without being changed by that.
func TestAnalyzeThenRewrite(t *testing.T) {
	eachGolden(t, func(t *testing.T, _, _ string, data []byte, opts Options) {
		want, wantErr := File("Dockerfile", data, opts)
		a, err := Analyze("Dockerfile", data, opts)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Analyze error %v, File error %v", err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Errorf("Analyze error %q, want File's %q", err, wantErr)
			}
			return
		}
		analysed := report(&Result{Output: data, Refs: a.Refs(), Warnings: a.Warnings()}, nil)
		fromFile := report(&Result{Output: data, Refs: want.Refs, Warnings: want.Warnings}, nil)
		if diff := cmp.Diff(string(fromFile), string(analysed)); diff != "" {
			t.Errorf("Analyze refs and warnings differ from File's (-File +Analyze):\n%s", diff)
		}
		for _, r := range a.Refs() {
			if start, end, ok := r.Span(); ok && string(data[start:end]) != r.Text {
				t.Errorf("line %d: Span() = [%d,%d) holds %q, want Text %q", r.Line, start, end, data[start:end], r.Text)
			}
		}

		// A mirror learns digests and the region after discovery.
		pinned := opts
		pinned.Region = "eu-west-3"
		pinned.Pins = map[string]string{}
		for i, r := range want.Refs {
			if r.Reference != "" {
				pinned.Pins[r.Reference] = fmt.Sprintf("sha256:%064x", i+1)
			}
		}
		wantPinned, err := File("Dockerfile", data, pinned)
		if err != nil {
			t.Fatalf("File with pins: %v", err)
		}
		gotPinned, err := a.Rewrite(WithPins(pinned.Pins), WithRegion(pinned.Region))
		if err != nil {
			t.Fatalf("Rewrite(WithPins, WithRegion): %v", err)
		}
		if diff := cmp.Diff(string(report(wantPinned, nil)), string(report(gotPinned, nil))); diff != "" {
			t.Errorf("Rewrite(WithPins, WithRegion) differs from File with them (-File +Rewrite):\n%s", diff)
		}

		// The analysis is as it was: rewriting it plainly gives File's.
		got, err := a.Rewrite()
		if err != nil {
			t.Fatalf("Rewrite(): %v", err)
		}
		if diff := cmp.Diff(string(report(want, nil)), string(report(got, nil))); diff != "" {
			t.Errorf("Rewrite() after a pinned Rewrite differs from File (-File +Rewrite):\n%s", diff)
		}
	})
}
