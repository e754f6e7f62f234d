package rewrite

import (
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// KindImage is the image: of a compose service.
const KindImage Kind = "image"

// StatusBuilt is the image: of a compose service that also has build:, the
// name its build produces: not a pull.
const StatusBuilt Status = "built"

// IsComposeFile reports whether a file name is a compose file Discover
// collects: compose.yaml, docker-compose.yml and their compose.*.yaml /
// docker-compose.*.yml overrides, with either extension.
func IsComposeFile(name string) bool {
	base, ok := strings.CutSuffix(name, ".yaml")
	if !ok {
		if base, ok = strings.CutSuffix(name, ".yml"); !ok {
			return false
		}
	}
	for _, stem := range []string{"compose", "docker-compose"} {
		if base == stem || (strings.HasPrefix(base, stem+".") && len(base) > len(stem)+1) {
			return true
		}
	}
	return false
}

// Classify resolves one image reference written outside a Dockerfile, such
// as a compose service's image:, with the rules File applies to FROM:
// normalisation, --only, --exclude, prefixes, and references already
// written as ECR URIs (mapped back to the image they mirror). text is the
// reference as written and expanded its value once variables are
// substituted. An unresolved reference is the caller's to report.
func Classify(name string, line int, kind Kind, text, expanded string, opts Options) (Ref, error) {
	opts, err := opts.normalize()
	if err != nil {
		return Ref{}, err
	}
	f := &file{name: name, opts: opts, args: map[string]*metaArg{}, env: newEnv(), lex: shell.NewLex('\\'), escape: '\\'}
	r := Ref{File: name, Line: line, Kind: kind, Text: text, stage: -1}
	if err := f.image(&r, expanded, nil); err != nil {
		return r, err
	}
	return r, nil
}

// Rewritten is what a reference written as written becomes in ECR on registry
// host: the registry and repository are replaced, and the tag and digest
// are kept as written, variables included; pins adds the mirrored digest
// (normalised reference to digest). It is false when the image name itself
// holds variables, or the reference is not one to rewrite.
func (r Ref) Rewritten(written, host string, pins map[string]string) (string, bool) {
	if r.Status != StatusRewrite || r.Repository == "" {
		return "", false
	}
	name, suffix := splitRef(written)
	if strings.Contains(name, "$") {
		return "", false
	}
	named := r.named
	if named == nil {
		var err error
		if named, err = reference.ParseNormalizedNamed(r.Reference); err != nil {
			return "", false
		}
	}
	if suffix == "" {
		if t, ok := named.(reference.Tagged); ok {
			suffix = ":" + t.Tag()
		}
		if d, ok := named.(reference.Digested); ok {
			suffix += "@" + d.Digest().String()
		}
	}
	if d := pins[r.Reference]; d != "" && !strings.Contains(suffix, "@") {
		suffix += "@" + d
	}
	return host + "/" + r.Repository + suffix, true
}
