package settings

import "strings"

// oneLine keeps an error message on a single line, and cuts any word in it
// longer than maxWord: a message locates a problem, it does not reprint a
// 5,000-character line.
func oneLine(err error) string {
	words := strings.Fields(err.Error())
	for i, w := range words {
		if r := []rune(w); len(r) > maxWord {
			words[i] = string(r[:maxWord]) + "..."
		}
	}
	return strings.Join(words, " ")
}

// maxWord is longer than any real image reference with its digest.
const maxWord = 200
