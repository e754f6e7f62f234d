package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"ecrbase/ecr"
)

// The rules a command line is held to before any file is read or any
// request is sent: each value of a flag, the flags that cannot go together
// and those that need another. A value is held to the rule .ecrbase.yaml
// is held to, so it means the same on the command line, in the environment
// and in the file.

// valueChecks validate one value of a flag (one element of a list flag; a
// comma-separated list flag is split first). A command whose flag differs
// from the others of that name has its own entry, "command.flag".
var valueChecks = map[string]func(string) error{
	"prefix":            Pairs(CheckPrefix),
	"exclude":           CheckPattern,
	"only":              CheckHost,
	"account-arg":       CheckArgName,
	"region-arg":        CheckArgName,
	"region":            CheckRegion,
	"account":           CheckAccount,
	"syntax":            CheckSyntax,
	"onbuild":           CheckOnBuild,
	"ignore":            CheckIgnore,
	"image":             CheckImage,
	"platform":          CheckPlatform,
	"registry-mirror":   CheckRegistryURL,
	"content-source":    CheckRegistryURL,
	"insecure-registry": CheckHost,
	"tag-mutability":    CheckTagMutability,
	"kms-key":           CheckKMSKey,
	"repo-tag":          Pairs(CheckRepositoryTag),
	"fail-on":           OneOfFold(ecr.Severities()...),
	"format":            OneOf("docker", "env", "json"),
	"renovate.format":   OneOf("json", "table"),
	"to":                CheckDestination,
}

// commaLists are list flags whose values may hold several items separated
// by commas (--platform linux/amd64,linux/arm64).
var commaLists = map[string]bool{"platform": true, "exclude": true, "only": true, "insecure-registry": true}

// conflicts are pairs of flags of one command that cannot go together, with
// the reason given to the user.
var conflicts = []struct{ a, b, why string }{
	{"write", "check", "--check only reports; run --write on its own to change the files"},
	{"write", "diff", "--diff only prints; run --write on its own to change the files"},
	{"diff", "check", "choose one: --check lists the files, --diff shows the changes"},
	{"dry-run", "rewrite", "--dry-run writes nothing; preview the rewrite with ecrbase rewrite --diff"},
}

// Check holds the flags of command that were set, named in flags (the
// command's flags, in the order they are checked), to the rules above. An
// error marked ErrUsage is the user's to fix on the command line; another
// (a lifecycle policy that cannot be read) is an error as for --config.
func Check(command string, flags []string, g Given, lookupEnv func(string) (string, bool)) error {
	for _, name := range flags {
		if g.Has(name) {
			if err := checkFlag(command, name, g, lookupEnv); err != nil {
				return err
			}
		}
	}
	for _, k := range conflicts {
		if g.boolean(k.a) && g.boolean(k.b) {
			return usagef("--%s and --%s conflict: %s", k.a, k.b, k.why)
		}
	}
	if g.boolean("pin") && !g.boolean("rewrite") {
		return usagef("--pin works with --rewrite")
	}
	if command == "renovate" {
		format := g.str("format")
		if g.Has("merge") && g.str("merge") != "" && format != "" && format != "json" {
			return usagef("--merge writes JSON: drop --format %s", format)
		}
		if g.boolean("write") && g.str("merge") == "" {
			return usagef("--write needs --merge FILE")
		}
	}
	return nil
}

func checkFlag(command, name string, g Given, lookupEnv func(string) (string, bool)) error {
	bad := func(v string, err error) error {
		// A mirror URL given by flag or environment may hold a password:
		// nothing printed quotes it.
		msg := Redact(err.Error())
		if strings.Contains(err.Error(), strconv.Quote(v)) {
			return usagef("--%s: %s", name, msg)
		}
		return usagef("--%s %q: %s", name, Redact(v), msg)
	}
	switch kindOf(name) {
	case Int:
		// 0 makes no sense for --jobs: no image would ever be copied.
		if n, err := strconv.Atoi(g.str(name)); err == nil && n < 1 {
			return usagef("--%s %d: want a whole number of at least 1", name, n)
		}
		return nil
	case Duration:
		if d, err := time.ParseDuration(g.str(name)); err == nil && d < 0 {
			return usagef("--%s %s: want a duration such as 10m, not a negative one", name, d)
		}
		return nil
	}
	switch p := g.str(name); {
	case name == "images-from" && p != "" && p != "-":
		// A catalogue that cannot be read is a usage error, as a bad line
		// in it is; - is standard input, read later.
		if err := readableFile(p); err != nil {
			return usagef("--%s %s: %v", name, p, err)
		}
		return nil
	case name == "lifecycle-policy" && p != "":
		// The rule mirror applies, before any request is sent; a policy
		// that cannot be read is an error, as for --config.
		if _, err := ReadPolicy(p); err != nil {
			return fmt.Errorf("--%s %s: %v", name, p, err)
		}
		return nil
	}
	check := valueChecks[command+"."+name]
	if check == nil {
		check = valueChecks[name]
	}
	if name == "build-arg" {
		check = func(kv string) error { return CheckBuildArgFlag(kv, lookupEnv) }
	}
	for _, v := range g[name].Values {
		if v == "" {
			continue // an empty variable, as if unset
		}
		items := []string{v}
		if commaLists[name] {
			items = strings.Split(v, ",")
		}
		for _, item := range items {
			if item == "" {
				return bad(v, errors.New("an empty value"))
			}
			if check != nil {
				if err := check(item); err != nil {
					return bad(item, err)
				}
			}
		}
	}
	return nil
}

// readableFile says why the file at p cannot be read, or nil.
func readableFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return errors.New("a directory, not a file")
	}
	return nil
}

// Conflicts are the pairs of flags that cannot go together.
func Conflicts() [][2]string {
	out := make([][2]string, len(conflicts))
	for i, k := range conflicts {
		out[i] = [2]string{k.a, k.b}
	}
	return out
}
