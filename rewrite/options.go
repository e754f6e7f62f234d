package rewrite

import (
	"fmt"
	"runtime"
	"strings"

	"ecrbase/internal/registry"
)

// SyntaxMode says what happens to the image of a `# syntax=` directive,
// which BuildKit reads before any build argument exists.
type SyntaxMode string

const (
	// SyntaxKeep leaves the directive as written and reports it.
	SyntaxKeep SyntaxMode = "keep"
	// SyntaxLiteral rewrites it with the literal account and region.
	SyntaxLiteral SyntaxMode = "literal"
)

// OnBuildMode says what happens to the images of ONBUILD triggers, which
// run in later builds where the account and region arguments do not exist.
type OnBuildMode string

const (
	// OnBuildKeep leaves them as written and reports them.
	OnBuildKeep OnBuildMode = "keep"
	// OnBuildLiteral writes the literal ECR URI when the account and region
	// are known.
	OnBuildLiteral OnBuildMode = "literal"
)

// Options decides what a Dockerfile pulls and what the rewrite writes. The
// zero value is usable: defaults are filled in by normalize.
type Options struct {
	// AccountArg and RegionArg name the build arguments of the ECR host
	// (default AWS_ACCOUNT_ID and AWS_REGION).
	AccountArg, RegionArg string
	// Region is the default value written for RegionArg; empty writes none.
	Region string
	// Account is the literal account, needed only by SyntaxLiteral.
	Account string
	// Prefixes overrides the ECR prefix per registry host.
	Prefixes map[string]string
	// BuildArgs are --build-arg values, applied with BuildKit's rules.
	BuildArgs map[string]string
	// Exclude skips references matching any of these path.Match patterns
	// (tried on the full reference, the name, and the short Docker name).
	Exclude []string
	// Only, when set, limits the rewrite to these registries.
	Only []string
	// Strict makes unresolved references errors instead of warnings.
	Strict bool
	// Syntax is the mode for `# syntax=` (default SyntaxKeep).
	Syntax SyntaxMode
	// OnBuild is the mode for ONBUILD triggers (default OnBuildKeep).
	OnBuild OnBuildMode
	// Pins adds a digest to rewritten references: normalised reference to
	// digest, as resolved by a mirror.
	Pins map[string]string
	// Platform is the build and target platform for BuildKit's automatic
	// platform arguments (default linux/<this machine's architecture>).
	Platform string
}

func (o Options) normalize() (Options, error) {
	if o.AccountArg == "" {
		o.AccountArg = registry.DefaultAccountArg
	}
	if o.RegionArg == "" {
		o.RegionArg = registry.DefaultRegionArg
	}
	if o.Syntax == "" {
		o.Syntax = SyntaxKeep
	}
	switch o.OnBuild {
	case "":
		o.OnBuild = OnBuildKeep
	case OnBuildKeep, OnBuildLiteral:
	default:
		return o, fmt.Errorf("unknown onbuild mode %q (want keep or literal)", o.OnBuild)
	}
	if o.Platform == "" {
		o.Platform = "linux/" + runtime.GOARCH
	}
	switch o.Syntax {
	case SyntaxKeep:
	case SyntaxLiteral:
		if o.Account == "" || o.Region == "" {
			return o, fmt.Errorf("--syntax=literal needs the account and region (--account, --region)")
		}
	default:
		return o, fmt.Errorf("unknown syntax mode %q (want keep or literal)", o.Syntax)
	}
	for _, name := range []string{o.AccountArg, o.RegionArg} {
		if !ValidArgName(name) {
			return o, fmt.Errorf("invalid build argument name %q", name)
		}
	}
	// o is a copy, but its slices and maps are the caller's, and callers run
	// File on many files at once with one Options: build new ones.
	o.Prefixes = normalizePrefixes(o.Prefixes)
	only := make([]string, len(o.Only))
	for i, r := range o.Only {
		only[i] = NormalizeRegistry(r)
	}
	o.Only = only
	return o, nil
}

// ValidArgName reports whether s can name a build argument: letters,
// digits and _, not starting with a digit.
func ValidArgName(s string) bool { return registry.ValidArgName(s) }

// normalizePrefixes keys a prefix map by normalised registry host.
func normalizePrefixes(prefixes map[string]string) map[string]string {
	if len(prefixes) == 0 {
		return nil
	}
	p := make(map[string]string, len(prefixes))
	for k, v := range prefixes {
		p[NormalizeRegistry(k)] = strings.Trim(v, "/")
	}
	return p
}
