package textfilter

import "github.com/obscuraproject/obscura/internal/textfilter/normalize"

// clean is normalize.Clean with the lexicon's homoglyph and emoji tables.
func (l *lexicon) clean(text string) string { return normalize.Clean(text, l.confusable, l.emoji) }

// tokenize is normalize.Tokens steered by the lexicon's words.
func (l *lexicon) tokenize(clean string) []string { return normalize.Tokens(clean, l) }

// words is normalize.Words steered by the lexicon's words.
func (l *lexicon) words(clean string) ([]string, []bool) { return normalize.Words(clean, l) }

// The lexicon is the tokenizer's normalize.Vocabulary.

// Known reports a literal word of the lexicon.
func (l *lexicon) Known(w string) bool { return l.known[w] }

// Phrase returns the multi-word entry a run-together string spells.
func (l *lexicon) Phrase(run string) (string, bool) {
	p, ok := l.joined[run]
	return p, ok
}

// Tagword reports a word of the lexicon's tagword class.
func (l *lexicon) Tagword(w string) bool { return l.classes["tagword"][w] }

// Head reports a one-word entry of four letters or more, or a
// three-letter word that starts an entry.
func (l *lexicon) Head(w string) bool { return l.single[w] != "" || len(w) == 3 && l.byFirst[w] != nil }

// Tail reports a one-word entry of four letters or more.
func (l *lexicon) Tail(w string) bool { return l.single[w] != "" }
