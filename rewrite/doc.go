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
//	parse.go    BuildKit's parser a window at a time, keeping only what the
//	            rewrite needs, so memory stays a small multiple of the file
//	stages.go   stages by name, aliases.go alias stages by URI and name
//	args.go     ARG-held references: which ARG edit rewrites them, checked
//	            against every stage; argindex.go keeps that evaluation
//	            linear (only what reads a changed value is evaluated again)
//	image.go    Classify: one image word's reference, repository and status
//	ref.go      Ref, Kind and Status: one reference found and what File does with it
//	options.go  Options and their defaults
//	naming.go   ECR repository names and prefixes (rules in internal/registry)
//	lines.go    the file's bytes by line, for edits that change nothing else
//	env.go      the ARG values in scope while expanding
//	files.go    Discover, ReadFile (regular files in the tree, up to MaxSize)
//	            and WriteFile (atomic; keeps mode, owner and group; refuses
//	            read-only and hard-linked files); files_unix.go the system calls
//	ignore.go   Ignore: gitignore-style patterns Discover skips
//	excerpt.go  what an error may quote of a file: a short excerpt
//	registries.go Registries: the hosts with a pull-through-cache prefix
//	diff.go     Diff, a unified diff for --diff
//	text.go     WriteTable: the table of references `ecrbase images` prints
//	errors.go   Error (file:line) and the sentinel errors
package rewrite
