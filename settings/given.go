package settings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Source says where an effective setting came from.
type Source struct {
	Kind string `json:"source"`         // flag, env, file or default
	Flag string `json:"flag,omitempty"` // for flag: --region
	Env  string `json:"env,omitempty"`  // for env: AWS_REGION
	File string `json:"file,omitempty"` // for file
	Line int    `json:"line,omitempty"` // for file
}

func (s Source) String() string {
	switch s.Kind {
	case "flag":
		return "flag " + s.Flag
	case "env":
		return "env " + s.Env
	case "file":
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return "default"
}

// Default is the source of a built-in default.
var Default = Source{Kind: "default"}

// Flag is a flag the user set, on the command line or through its
// environment variable.
type Flag struct {
	// Values are the flag's values as text: one for a single-valued flag
	// (a boolean is "true" or "false"), one per occurrence for a list flag.
	Values []string
	// Env is the environment variable the values came from; "" when they
	// came from the command line.
	Env string
}

// Given are the flags the user set, by name without dashes (build-arg).
// Flags left at their defaults are absent: the defaults live here.
type Given map[string]Flag

// Source reports where flag name was set, and whether it was.
func (g Given) Source(name string) (Source, bool) {
	f, ok := g[name]
	switch {
	case !ok:
		return Source{}, false
	case f.Env != "":
		return Source{Kind: "env", Env: f.Env}, true
	}
	return Source{Kind: "flag", Flag: "--" + name}, true
}

// Has reports whether flag name was set.
func (g Given) Has(name string) bool {
	_, ok := g[name]
	return ok
}

func (g Given) str(name string) string {
	if v := g[name].Values; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (g Given) boolean(name string) bool {
	b, _ := strconv.ParseBool(g.str(name))
	return b
}

func (g Given) number(name string, def int) int {
	if !g.Has(name) {
		return def
	}
	n, _ := strconv.Atoi(g.str(name))
	return n
}

func (g Given) duration(name string) time.Duration {
	d, _ := time.ParseDuration(g.str(name))
	return d
}

// list is a list flag's items, each occurrence split at commas.
func (g Given) list(name string) []string {
	var out []string
	for _, item := range g[name].Values {
		out = append(out, strings.Split(item, ",")...)
	}
	return out
}

// ErrUsage marks an error in what the user gave on the command line or in
// the environment, as opposed to the configuration file or the world: the
// CLI exits with its usage status.
var ErrUsage = errors.New("usage error")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// pairs reads a repeated K=V flag into a map; nil when it is not set. A
// bare NAME of --build-arg takes its value from the environment, as docker
// build does.
func (g Given) pairs(flag string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	values := g[flag].Values
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok && flag == "build-arg" {
			v, ok = lookupEnv(k)
		}
		if !ok || k == "" {
			if flag == "registry-mirror" {
				kv = Redact(kv)
			}
			return nil, usagef("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// Redact hides the user:password@ of a URL (a registry mirror's) in text
// that is printed.
func Redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	} else {
		scheme += "://"
	}
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	if at := strings.LastIndex(rest[:hostEnd], "@"); at >= 0 {
		return scheme + "[redacted]@" + rest[at+1:]
	}
	return s
}
