package rewrite

import "strings"

// Limits on what an error message quotes from a file: enough to find the
// problem, never a whole line of a file that may not be a Dockerfile at all
// (a password file, a credentials file).
const (
	excerptWord = 16  // runes of one quoted word
	excerptMsg  = 160 // runes of a whole message
)

// excerpt shortens the long words of a message that quotes a file, and the
// message itself.
func excerpt(msg string) string {
	fields := strings.Fields(msg)
	for i, f := range fields {
		if r := []rune(f); len(r) > excerptWord {
			fields[i] = string(r[:excerptWord]) + "..."
		}
	}
	msg = strings.Join(fields, " ")
	if r := []rune(msg); len(r) > excerptMsg {
		msg = string(r[:excerptMsg]) + "..."
	}
	return msg
}
