package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"

	"ecrbase/ecr"
	"ecrbase/internal/registry"
	"ecrbase/rewrite"
)

// The validators below hold a value to the same rule wherever it comes
// from: a field of .ecrbase.yaml (the decoder), a flag or an environment
// variable (the CLI's usage checks). Each takes one value, one element of a
// list, and says what is wrong with it without quoting more than it must.

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// IsRegion reports whether s has the form of an AWS region: us-east-1,
// us-gov-west-1, cn-north-1.
func IsRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, p := range parts {
		last := i == len(parts)-1
		if p == "" || strings.IndexFunc(p, func(r rune) bool {
			return last && !isDigit(r) || !last && !(r >= 'a' && r <= 'z')
		}) >= 0 {
			return false
		}
	}
	return true
}

// CheckRegion checks an AWS region.
func CheckRegion(s string) error {
	if !IsRegion(s) {
		return errors.New("not an AWS region such as us-east-1")
	}
	return nil
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// CheckAccount checks an AWS account ID.
func CheckAccount(s string) error {
	if !accountID.MatchString(s) {
		return errors.New("an AWS account ID has 12 digits")
	}
	return nil
}

// CheckArgName checks the name of a build argument (account_arg,
// region_arg).
func CheckArgName(s string) error {
	if !registry.ValidArgName(s) {
		return errors.New("not a build argument name (letters, digits and _, not starting with a digit)")
	}
	return nil
}

// CheckSyntax checks what to do with # syntax= images.
func CheckSyntax(s string) error {
	return OneOf(string(rewrite.SyntaxKeep), string(rewrite.SyntaxLiteral))(s)
}

// CheckOnBuild checks what to do with ONBUILD images.
func CheckOnBuild(s string) error {
	return OneOf(string(rewrite.OnBuildKeep), string(rewrite.OnBuildLiteral))(s)
}

// CheckPrefix checks a prefixes entry: a registry host and the ECR
// repository prefix its images go under.
func CheckPrefix(host, prefix string) error {
	if err := CheckHost(host); err != nil {
		return err
	}
	if p := strings.Trim(prefix, "/"); p != "" {
		// Any image name must still make a valid repository under it.
		if err := registry.CheckRepository(p + "/x"); err != nil {
			return fmt.Errorf("%q is not a valid ECR repository prefix (lowercase letters, digits, and . _ - / between them)", prefix)
		}
	}
	return nil
}

// CheckPattern checks an exclude pattern (path.Match syntax).
func CheckPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil || p == "" {
		return fmt.Errorf("%q is not a valid pattern (path.Match syntax)", p)
	}
	return nil
}

// CheckIgnore checks an ignore pattern by the rules of .gitignore.
func CheckIgnore(p string) error { return rewrite.CheckIgnorePattern(p) }

// CheckHost checks a registry host name, with an optional port.
func CheckHost(h string) error { return registry.CheckHost(h) }

// CheckBuildArg checks a build_args entry; any value goes.
func CheckBuildArg(k, _ string) error { return CheckArgName(k) }

// CheckBuildArgFlag checks a --build-arg: NAME=VALUE, or a bare NAME that
// docker build takes from the environment, as getenv reads it.
func CheckBuildArgFlag(kv string, lookupEnv func(string) (string, bool)) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		if _, set := lookupEnv(k); !set {
			return fmt.Errorf("want KEY=VALUE (a bare NAME takes its value from the environment, and %s is not set)", k)
		}
	}
	if k == "" {
		return errors.New("want KEY=VALUE")
	}
	return CheckBuildArg(k, v)
}

// CheckPlatform checks a platform, os/arch[/variant].
func CheckPlatform(p string) error {
	_, err := registry.ParsePlatform(p)
	return err
}

// CheckMirror checks a mirror entry with the rule mirror applies. Whether
// plain HTTP is allowed depends on the insecure registries in effect, which
// flags may change, so that part is checked once settings are resolved
// (Resolve). A user:password@ is refused here, where the URL is
// committed; a flag or environment variable may carry one (CheckMirrorFlag).
func CheckMirror(reg, base string) error {
	if err := registry.CheckNoUser(base); err != nil {
		return err
	}
	if _, err := registry.ParseMirror(reg, base, nil); err != nil && !errors.Is(err, registry.ErrPlainHTTP) {
		return err
	}
	return nil
}

// CheckMirrorFlag is CheckMirror for a flag or environment variable, which,
// unlike the committed file, may carry the mirror's user:password@: the
// mirror is logged in to with it, and it is never printed.
func CheckMirrorFlag(reg, base string) error {
	if u, err := url.Parse(base); err == nil && u.User != nil {
		u.User = nil
		base = u.String()
	}
	return CheckMirror(reg, base)
}

// CheckRegistryURL checks a REGISTRY=URL flag value (--registry-mirror,
// --content-source).
func CheckRegistryURL(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return errors.New("want REGISTRY=URL")
	}
	return CheckMirrorFlag(k, v)
}

// CheckTagMutability checks a tag mutability, MUTABLE or IMMUTABLE in any
// case.
func CheckTagMutability(s string) error {
	_, err := registry.TagMutability(s)
	return err
}

// CheckKMSKey checks a KMS key ARN, ID or alias.
func CheckKMSKey(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return errors.New("want a KMS key ARN, ID or alias")
	}
	return nil
}

// CheckRepositoryTag checks a tag of created repositories by ECR's rules.
func CheckRepositoryTag(k, v string) error {
	switch {
	case k == "" || len(k) > 128:
		return errors.New("tag keys have 1 to 128 characters")
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return errors.New("tag keys starting with aws: are reserved by AWS")
	case len(v) > 256:
		return errors.New("tag values have at most 256 characters")
	}
	return nil
}

// CheckDestination checks a replication destination, REGION[:ACCOUNT].
func CheckDestination(s string) error {
	_, err := ecr.ParseDestination(s)
	return err
}

// CheckImage checks an image reference given to mirror.
func CheckImage(s string) error {
	_, _, err := rewrite.Image(s, nil)
	return err
}

// Pairs makes a check of KEY=VALUE text from a check of key and value.
func Pairs(check func(k, v string) error) func(string) error {
	return func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		return check(k, v)
	}
}

// OneOf accepts exactly one of values.
func OneOf(values ...string) func(string) error {
	return func(s string) error {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("want %s", strings.Join(values, " or "))
	}
}

// OneOfFold accepts one of values in any case.
func OneOfFold(values ...string) func(string) error {
	return func(s string) error {
		for _, v := range values {
			if strings.EqualFold(s, v) {
				return nil
			}
		}
		return fmt.Errorf("want %s", strings.Join(values, ", "))
	}
}

// ReadPolicy reads a lifecycle policy file, from --lifecycle-policy or the
// configuration file, and checks it with the rule mirror applies, so a
// broken policy stops the command before any repository is created.
func ReadPolicy(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	if err := registry.CheckLifecyclePolicy(data); err != nil {
		return "", err
	}
	return string(data), nil
}
