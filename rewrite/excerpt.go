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
	msg = cutWords(msg, excerptWord)
	if r := []rune(msg); len(r) > excerptMsg {
		msg = string(r[:excerptMsg]) + "..."
	}
	return msg
}

// OneLine keeps a message on a single line, and cuts any word in it longer
// than maxWord: a message locates a problem, it does not reprint a
// 5,000-character line.
func OneLine(msg string) string { return cutWords(msg, maxWord) }

// maxWord is longer than any real image reference with its digest.
const maxWord = 200

// cutWords joins the words of msg with single spaces, each cut to n runes.
func cutWords(msg string, n int) string {
	fields := strings.Fields(msg)
	for i, f := range fields {
		if r := []rune(f); len(r) > n {
			fields[i] = string(r[:n]) + "..."
		}
	}
	return strings.Join(fields, " ")
}
