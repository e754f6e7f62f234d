package settings

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// credentials refuses any key that names a credential and any value that
// looks like one, anywhere in the file. Messages name the field, never the
// value.
func (d *decoder) credentials(n *yaml.Node, at string) error {
	// An alias names a node scanned where it is defined; following it
	// would make nested aliases cost exponential time.
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			if at != "" {
				name = at + "." + k.Value
			}
			if k.Kind == yaml.ScalarNode && credentialName(k.Value) {
				return d.fail(k, ErrCredential, "%s looks like a credential; %s", name, credentialSources)
			}
			if err := d.credentials(k, at); err != nil {
				return err
			}
			if err := d.credentials(v, name); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := d.credentials(item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if credentialValue(n.Value) {
			if at == "" {
				at = "a field name"
			}
			return d.fail(n, ErrCredential, "the value of %s looks like a credential; %s", at, credentialSources)
		}
	}
	return nil
}

// credentialWords are words of a field name that say it holds a credential.
var credentialWords = map[string]bool{
	"token": true, "tokens": true, "password": true, "passwords": true, "passwd": true, "pwd": true,
	"passphrase": true, "secret": true, "secrets": true, "credential": true, "credentials": true,
	"creds": true, "cred": true, "auth": true, "auths": true, "authorization": true, "bearer": true,
	"key": true, "keys": true, "apikey": true, "privatekey": true, "accesskey": true, "secretkey": true,
}

// credentialParts are spellings that say the same when words are run
// together (DOCKERHUBTOKEN, apiKey).
var credentialParts = []string{"token", "password", "passwd", "secret", "credential", "apikey", "accesskey", "privatekey"}

// credentialName reports whether a field name looks like it holds a
// credential. kms_key names a key, it does not hold one.
func credentialName(name string) bool {
	words := nameWords(name)
	if len(words) == 2 && words[0] == "kms" && words[1] == "key" {
		return false
	}
	for _, w := range words {
		if credentialWords[w] {
			return true
		}
	}
	compact := strings.Join(words, "")
	for _, p := range credentialParts {
		if strings.Contains(compact, p) {
			return true
		}
	}
	return false
}

// nameWords splits snake_case, kebab-case, dotted and camelCase names into
// lower-case words.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prev := rune(0)
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}

// accessKeyPrefixes start AWS access key IDs: long-term AKIA, temporary
// ASIA, and the other documented kinds.
var accessKeyPrefixes = []string{"AKIA", "ASIA", "ABIA", "ACCA"}

// tokenPrefixes start well-known registry and forge tokens.
var tokenPrefixes = []string{"dckr_pat_", "dckr_oat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"}

func isWordByte(c byte) bool { return c == '_' || isLetter(rune(c)) || isDigit(rune(c)) }

// hasAccessKeyID reports whether s holds an AWS access key ID as a word:
// a known prefix and 16 more characters of base32.
func hasAccessKeyID(s string) bool {
	for i := 0; i+20 <= len(s); i++ {
		if !slices.Contains(accessKeyPrefixes, s[i:i+4]) || (i > 0 && isWordByte(s[i-1])) || (i+20 < len(s) && isWordByte(s[i+20])) {
			continue
		}
		if strings.IndexFunc(s[i+4:i+20], func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') }) < 0 {
			return true
		}
	}
	return false
}

// hasToken reports whether s holds a known token: its prefix at the start of
// a word, then at least 8 token characters.
func hasToken(s string) bool {
	for _, p := range tokenPrefixes {
		for at := 0; ; {
			i := strings.Index(s[at:], p)
			if i < 0 {
				break
			}
			i += at
			rest := s[i+len(p):]
			n := strings.IndexFunc(rest, func(r rune) bool { return !isLetter(r) && !isDigit(r) && r != '_' && r != '-' })
			if n < 0 {
				n = len(rest)
			}
			if (i == 0 || !isWordByte(s[i-1])) && n >= 8 {
				return true
			}
			at = i + 1
		}
	}
	return false
}

// isOpaque reports whether s is a long run of base64 or base64url
// characters.
func isOpaque(s string) bool {
	body := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	return len(body) >= 32 && strings.IndexFunc(body, func(r rune) bool {
		return !isLetter(r) && !isDigit(r) && r != '+' && r != '/' && r != '_' && r != '-'
	}) < 0
}

// credentialValue reports whether a value looks like a secret: an AWS access
// key ID, a known token format, a URL with a password, or a long random
// base64 string (an AWS secret key has 40 characters of about 5 bits each).
func credentialValue(s string) bool {
	if hasAccessKeyID(s) || hasToken(s) {
		return true
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
	}
	if !isOpaque(s) {
		return false
	}
	var upper, lower, digit bool
	for _, r := range s {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	return upper && lower && digit && entropy(s) >= 4.5
}

// entropy is the Shannon entropy of s in bits per character. Random base64
// is near 5 and more; words run together in camelCase stay near 4.
func entropy(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}
