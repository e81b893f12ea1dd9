// Package frame finds situation frames in a normalised, tokenised text: a
// reference to a person (a pronoun, a possessive, a person noun, a
// capitalised name) and, within a few words of it, a cue word of a
// sensitive domain (a hospital ward, a court, the rent). A cue alone says
// nothing about anyone ("the court was muddy"); next to a person it tells
// the person's situation ("my dad is in court again"). The cue lists are
// derived from WordNet by tools/textfiltergen (docs/textfilter.md,
// "Situation frames"); this package only finds the pairs.
package frame

// Window is how many tokens before or after a cue a person reference may
// stand for the pair to count.
const Window = 4

// Vocab answers what the package needs to know about a token.
type Vocab interface {
	// Person reports a word that refers to a person (pronoun, possessive,
	// person noun).
	Person(word string) bool
	// Name reports a capitalised token that reads as a proper name (not a
	// common word).
	Name(word string) bool
	// Cues returns the categories word is a situation cue of.
	Cues(word string) []string
}

// Hit is one frame: the cue's position and word and the category it
// carries.
type Hit struct {
	Pos      int
	Word     string
	Category string
}

// Find returns a hit for every cue token with a person reference within
// Window tokens on either side. caps[i] reports that toks[i] was
// capitalised in the text (only then can it be a name). A cue never
// serves as its own person reference.
func Find(toks []string, caps []bool, v Vocab) []Hit {
	var out []Hit
	for i, t := range toks {
		cats := v.Cues(t)
		if len(cats) == 0 || !personNear(toks, caps, i, v) {
			continue
		}
		for _, c := range cats {
			out = append(out, Hit{Pos: i, Word: t, Category: c})
		}
	}
	return out
}

// personNear reports a person reference within Window tokens of i.
func personNear(toks []string, caps []bool, i int, v Vocab) bool {
	for j := max(0, i-Window); j < len(toks) && j <= i+Window; j++ {
		if j == i {
			continue
		}
		if v.Person(toks[j]) || caps[j] && v.Name(toks[j]) {
			return true
		}
	}
	return false
}
