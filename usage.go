package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"ecrbase/settings"
)

// A flag value that cannot be right is a usage error (exit 2), found before
// any file is read or any request is sent. The checks are the ones
// .ecrbase.yaml is held to, so a value means the same on the command line, in
// the environment and in the file.

// valueChecks validate one value of a flag (one element of a list flag; a
// comma-separated list flag is split first).
var valueChecks = map[string]func(string) error{
	"prefix":            settings.Pairs(settings.CheckPrefix),
	"build-arg":         func(kv string) error { return settings.CheckBuildArgFlag(kv, os.LookupEnv) },
	"exclude":           settings.CheckPattern,
	"only":              settings.CheckHost,
	"account-arg":       settings.CheckArgName,
	"region-arg":        settings.CheckArgName,
	"region":            settings.CheckRegion,
	"account":           settings.CheckAccount,
	"syntax":            settings.CheckSyntax,
	"onbuild":           settings.CheckOnBuild,
	"ignore":            settings.CheckIgnore,
	"image":             settings.CheckImage,
	"platform":          settings.CheckPlatform,
	"registry-mirror":   settings.CheckRegistryURL,
	"content-source":    settings.CheckRegistryURL,
	"insecure-registry": settings.CheckHost,
	"tag-mutability":    settings.CheckTagMutability,
	"kms-key":           settings.CheckKMSKey,
	"repo-tag":          settings.Pairs(settings.CheckRepositoryTag),
	"fail-on":           settings.OneOfFold("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"),
	"format":            settings.OneOf("docker", "env", "json"),
	"renovate.format":   settings.OneOf("json", "table"),
	"to":                settings.CheckDestination,
}

// valueCheck is the check of a command's flag: "command.flag" when the
// command's flag differs from the others of that name, else "flag".
func valueCheck(c *cli.Context, name string) func(string) error {
	if check, ok := valueChecks[c.Command.Name+"."+name]; ok {
		return check
	}
	return valueChecks[name]
}

// atLeastOne are the number flags for which 0 makes no sense (no image
// would ever be copied with --jobs 0); other numbers only refuse negatives.
var atLeastOne = map[string]bool{"jobs": true, "head-jobs": true}

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

// checkUsage is every command's Before: it refuses bad flag values and
// conflicting flags with exit status 2.
func checkUsage(c *cli.Context) error {
	if c.Command == nil {
		return nil
	}
	set := map[string]bool{}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		set[name] = true
		if err := checkFlag(c, f, name); err != nil {
			return err
		}
	}
	for _, k := range conflicts {
		if set[k.a] && set[k.b] && c.Bool(k.a) && c.Bool(k.b) {
			return usageError("--%s and --%s conflict: %s", k.a, k.b, k.why)
		}
	}
	if set["pin"] && c.Bool("pin") && !c.Bool("rewrite") {
		return usageError("--pin works with --rewrite")
	}
	return nil
}

func checkFlag(c *cli.Context, f cli.Flag, name string) error {
	bad := func(v string, err error) error {
		// A mirror URL given by flag or environment may hold a password:
		// nothing printed quotes it.
		msg := settings.Redact(err.Error())
		if strings.Contains(err.Error(), strconv.Quote(v)) {
			return usageError("--%s: %s", name, msg)
		}
		return usageError("--%s %q: %s", name, settings.Redact(v), msg)
	}
	switch f.(type) {
	case *cli.IntFlag:
		if n := c.Int(name); n < 0 || n == 0 && atLeastOne[name] {
			least := 0
			if atLeastOne[name] {
				least = 1
			}
			return usageError("--%s %d: want a whole number of at least %d", name, n, least)
		}
		return nil
	case *cli.DurationFlag:
		if d := c.Duration(name); d < 0 {
			return usageError("--%s %s: want a duration such as 10m, not a negative one", name, d)
		}
		return nil
	case *cli.StringSliceFlag:
		check := valueCheck(c, name)
		for _, v := range c.StringSlice(name) {
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
	case *cli.StringFlag:
		v := c.String(name)
		if v == "" {
			return nil // an empty variable, as if unset
		}
		if check := valueCheck(c, name); check != nil {
			if err := check(v); err != nil {
				return bad(v, err)
			}
		}
	case *cli.PathFlag:
		// A catalogue that cannot be read is a usage error, as a bad line
		// in it is; - is standard input, read later.
		if p := c.Path(name); p != "" && p != "-" && name == "images-from" {
			if err := readableFile(p); err != nil {
				return usageError("--%s %s: %v", name, p, err)
			}
		}
		// A policy file that cannot be read is an error (1), as for --config.
		if p := c.Path(name); p != "" && name == "lifecycle-policy" {
			// The rule mirror applies, before any request is sent.
			if _, err := settings.ReadPolicy(p); err != nil {
				return cli.Exit(fmt.Sprintf("--%s %s: %v", name, p, err), exitError)
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

// withUsageChecks makes checkUsage run before every command's own Before,
// and gives each run a place for its settings (withSettings).
func withUsageChecks(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		own := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			withSettings(c)
			if err := checkUsage(c); err != nil {
				return err
			}
			if own != nil {
				return own(c)
			}
			return nil
		}
	}
	return cmds
}
