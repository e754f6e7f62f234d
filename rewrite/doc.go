// Package rewrite finds the images a Dockerfile pulls and rewrites those
// references to Amazon ECR URIs, changing no other byte.
//
// Discovery follows BuildKit: the file is parsed with BuildKit's own parser
// and instructions packages, meta ARGs are expanded with its shell lexer, and
// references are normalised the way Docker does (python:3.7 is
// docker.io/library/python:3.7).
//
// Repository names follow ECR pull-through-cache conventions (DefaultPrefix,
// Image), so a team can switch between ecrbase mirrors and pull-through-cache
// rules.
//
// Layout:
//
//	analysis.go Analyze and Analysis: what a file pulls, with byte spans and
//	            the status each reference gets, and no edit; Rewrite runs the
//	            edit plan over it (again, with a mirror's pins and region)
//	rewrite.go  File (Analyze, then Rewrite), and the edit plan that rewrites
//	            references
//	find.go     the analysis: parse, expand meta ARGs, find every reference
//	ref.go      Ref, Kind and Status: one reference found and what File does with it
//	options.go  Options and their defaults
//	naming.go   ECR repository names and prefixes (rules in internal/registry)
//	lines.go    the file's bytes by line, for edits that change nothing else
//	env.go      the ARG values in scope while expanding
//	files.go    Discover, IsDockerfile and WriteFile (atomic, keeps the mode)
//	diff.go     Diff, a unified diff for --diff
//	errors.go   Error (file:line) and the sentinel errors
package rewrite
