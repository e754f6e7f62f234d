// Package rewrite finds the images a Dockerfile pulls and rewrites those
// references to Amazon ECR URIs, changing no other byte.
//
// Discovery follows BuildKit: the file is parsed with BuildKit's own parser
// and instructions packages, meta ARGs are expanded with its shell lexer, and
// references are normalised the way Docker does (python:3.7 is
// docker.io/library/python:3.7).
//
// Repository names follow ECR pull-through-cache conventions (Repository), so
// a team can switch between ecrbase mirrors and pull-through-cache rules.
package rewrite
