package textfilter

import "github.com/obscuraproject/obscura/internal/textfilter/untrusted"

// Untrusted prepares text read from a photo (OCR output) or any other
// untrusted source for use as data inside a caption: NFKC; control,
// format (zero-width, bidi override and isolate, tag), other invisible and
// private-use characters removed; URLs, e-mail addresses, domain names and
// @handles removed, also when spelled with look-alike characters; whitespace
// collapsed to single spaces; at most maxRunes runes (none if maxRunes ≤ 0).
//
// The result is data, never instructions: callers quote it, never interpret
// it, and still run Check on it before use. The work is
// internal/textfilter/untrusted's, with the filter's homoglyph table.
func Untrusted(text string, maxRunes int) string { return untrusted.Clean(text, maxRunes, skeleton) }

// skeleton is the homoglyph table Untrusted uses; it is the filter's table,
// loaded once.
var skeleton = func() map[rune]rune {
	l := newLexicon()
	if err := l.loadConfusables(); err != nil {
		panic(err) // embedded at build time; a test covers it
	}
	return l.confusable
}()
