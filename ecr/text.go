package ecr

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// The text forms of the results, as the command line prints them; the
// JSON forms are the types' own fields.

// WriteTable writes the report as a table, one row per image (source,
// status, action, both digests abbreviated, counted pulls, where the bytes
// came from, the ECR target), then one line of totals: images, failures,
// counted pulls (needed, in a dry run) per registry and the quotas last
// seen.
func (r *Report) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATUS\tACTION\tSOURCE DIGEST\tECR DIGEST\tPULLS\tFROM\tTARGET")
	for _, img := range r.Images {
		pulls := fmt.Sprint(img.PullsNeeded)
		if img.PullsEstimate {
			pulls += "~"
		}
		if !r.DryRun {
			pulls = fmt.Sprint(img.PullsUsed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", img.Source, img.Status, img.Action,
			shortDigest(img.SourceDigest), shortDigest(img.TargetDigest), pulls, dash(img.From()), img.Target)
	}
	tw.Flush()
	pulls := fmt.Sprintf("%d counted pull(s) used", r.PullsUsed)
	if r.DryRun {
		pulls = fmt.Sprintf("%d counted pull(s) needed", r.PullsNeeded)
		if r.PullsEstimate {
			pulls = fmt.Sprintf("at least %d counted pull(s) needed (estimate: %s)", r.PullsNeeded, strings.Join(r.EstimateReasons(), "; "))
		}
	}
	fmt.Fprintf(&b, "%d image(s), %d failed, %s", len(r.Images), r.Failed, pulls)
	if len(r.Pulls) > 0 {
		var per []string
		for _, reg := range slices.Sorted(maps.Keys(r.Pulls)) {
			per = append(per, fmt.Sprintf("%s %d", reg, r.Pulls[reg]))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(per, ", "))
	}
	for _, q := range r.Quotas {
		fmt.Fprintf(&b, "; %s: %s", q.Registry, q.String())
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// String is the result as one line: the repository filters, the source
// registry and region, the destinations, and whether the rule was already
// there, would be set (a dry run) or was set.
func (r *ReplicationResult) String() string {
	dests := make([]string, len(r.Destinations))
	for i, d := range r.Destinations {
		dests[i] = d.String()
	}
	state := "already set, nothing written"
	switch {
	case r.Changed && r.DryRun:
		state = "would be set (dry run)"
	case r.Changed:
		state = fmt.Sprintf("set (%d rule(s) in the registry)", len(r.After))
	}
	return fmt.Sprintf("replication of %s from %s in %s to %s: %s",
		strings.Join(r.Filters, ", "), r.Registry, r.Region, strings.Join(dests, ", "), state)
}

// shortDigest abbreviates a digest for the table (sha256: and 12 hex
// digits); the JSON report has it whole.
func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)] + hex[:12]
	}
	return dash(d)
}

// dash stands for an empty cell of a table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
