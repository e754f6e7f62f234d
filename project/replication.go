package project

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// wellKnownRegistries are the registries whose mirrors live under ECR's
// pull-through-cache prefixes; replication covers them all by default.
var wellKnownRegistries = []string{"docker.io", "public.ecr.aws", "quay.io", "ghcr.io", "registry.k8s.io", "registry.gitlab.com"}

// ReplicationPrefixes are the repository prefixes ecrbase writes under: the
// one of each well-known registry (or its prefix in prefixes), every
// configured prefix, and the prefix of each image's own registry; sorted.
func ReplicationPrefixes(prefixes map[string]string, images []ecr.Image) []string {
	prefixOf := func(host string) string {
		host = rewrite.NormalizeRegistry(host)
		if p, ok := prefixes[host]; ok {
			return p
		}
		return rewrite.DefaultPrefix(host)
	}
	var out []string
	add := func(p string) {
		if p = strings.Trim(p, "/"); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, h := range wellKnownRegistries {
		add(prefixOf(h))
	}
	for _, p := range prefixes {
		add(p)
	}
	for _, img := range images {
		host, _, _ := strings.Cut(img.Source, "/")
		add(prefixOf(host))
	}
	slices.Sort(out)
	return out
}

// Replication is what `ecrbase replication` did: the registry's
// replication configuration, and with backfill the copy into each
// destination.
type Replication struct {
	Replication *ecr.ReplicationResult `json:"replication"`
	Backfill    []Backfill             `json:"backfill,omitempty"`
}

// Backfill is the copy of the images already mirrored into one destination.
type Backfill struct {
	Destination ecr.Destination `json:"destination"`
	Report      *ecr.Report     `json:"report"`
}

// BackfillError says which destinations a backfill failed for; the others
// were still copied.
type BackfillError struct{ Failed []string }

func (e *BackfillError) Error() string { return strings.Join(e.Failed, "; ") }

// Replicate makes ECR replicate the prefixes of images (ReplicationPrefixes)
// to dests and, with backfill, copies images into each destination.
// progress, when not nil, is called with the replication result once set,
// then with each backfill as it ends, so a caller can print as the work
// goes. An error of the replication configuration stops everything; a
// failed backfill stops no other, and the error is a *BackfillError.
func Replicate(ctx context.Context, images []ecr.Image, prefixes map[string]string, dests []ecr.Destination, backfill bool, progress func(*Replication), opts ...ecr.Option) (*Replication, error) {
	res, err := ecr.ConfigureReplication(ctx, ReplicationPrefixes(prefixes, images), dests, opts...)
	if err != nil {
		return nil, err
	}
	out := &Replication{Replication: res}
	if progress == nil {
		progress = func(*Replication) {}
	}
	progress(out)
	if !backfill {
		return out, nil
	}
	var failed []string
	for _, d := range res.Destinations {
		rep, err := ecr.Backfill(ctx, images, d, opts...)
		if rep != nil {
			out.Backfill = append(out.Backfill, Backfill{Destination: d, Report: rep})
			progress(out)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("backfill into %s: %s", d, OneLine(err)))
		}
	}
	if len(failed) > 0 {
		return out, &BackfillError{failed}
	}
	return out, nil
}
