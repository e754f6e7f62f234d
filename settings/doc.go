// Package settings is ecrbase's configuration: the repository's
// .ecrbase.yaml, the rules every setting is held to, and the precedence
// flag > environment variable > file > built-in default.
//
// The command line hands it what the user set (Set: each flag set and its
// values, from which it makes Given, with the environment variable each
// came from, if any) and nothing else; the package never sees urfave/cli. Resolve and Read return
// Settings, whose methods give the options of the two libraries (Rewrite,
// Ignore, ECR) and the rows of `ecrbase config` (Rows), every value with
// its source. A value means the same in the file, a flag and an
// environment variable: the decoder and Check, the rules of a command
// line (each flag's values, conflicting flags, flags that need another),
// call the same validators, and the rules shared with rewrite and ecr come
// from internal/registry.
//
// Commands declares every command and flag: its kind, default,
// environment variable and help. The command line builds its commands
// from it.
//
// Layout:
//
//	commands.go     Commands, Global, Spec and Kind: the commands and their flags; Set, which tells the command line from the environment
//	file.go         File, Value and Pair; Find and Load (lookup), Parse; Error and the sentinel errors
//	decode.go       the schema and the decoder that keeps each value's line, with unknown-field suggestions
//	content.go      the content_sources: block
//	yaml.go         the refusal of YAML aliases
//	credentials.go  credential detection in field names and values
//	check.go        the validators, for file fields and flag values alike; ReadPolicy
//	usage.go        Check: the command line's rules, found before any file is read; Conflicts
//	given.go        Given and Flag (what the user set), Source, ErrUsage, Redact
//	settings.go     Settings: the resolver, the region rule, rewrite options and ignore patterns, replication destinations
//	ecr.go          ecr options: mirrors, content sources, repositories' settings, lifecycle policy
//	rows.go         Row and Rows, what `ecrbase config` prints
//	text.go         WriteTable and WriteJSON: the rows as `ecrbase config` prints them
//	example_test.go Resolve from a file and the flags given, with sources
package settings
