package main

import (
	"strings"
	"testing"
)

// TestSmokeReportJudgesNothing: a smoke pass says its figures are not
// measurements and compares none with a target; a full run does.
func TestSmokeReportJudgesNothing(t *testing.T) {
	rw := &RewriteResult{Files: 20, Ratio: 2.09, RatioParallel: 1.4}
	rw.ParseOnly.CPU, rw.Ecrbase.CPU = 1, 2
	smoke := Report(Results{Smoke: true, Runs: 1, Rewrite: rw})
	for _, bad := range []string{"target:", "at most", "2.09", "results.json"} {
		if strings.Contains(smoke, bad) {
			t.Errorf("smoke report mentions %q:\n%s", bad, smoke)
		}
	}
	if !strings.Contains(smoke, "Smoke figures are not measurements") {
		t.Errorf("smoke report does not say its figures are not measurements:\n%s", smoke)
	}
	full := Report(Results{Runs: 5, Rewrite: rw})
	if !strings.Contains(full, "**2.09**") || !strings.Contains(full, "target: at most 1.5") {
		t.Errorf("full report lacks the ratio against the target:\n%s", full)
	}
}
