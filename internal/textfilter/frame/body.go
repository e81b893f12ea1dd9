package frame

import "strings"

// CompareWindow is how many tokens after a body part a comparison may
// start for the pair to count as a remark on looks.
const CompareWindow = 4

// compareMarks are the words that start a comparison, a degree or a
// measure: "whiter than", "like a washboard", "so big it", "its own
// weather system", "the face of a potato".
var compareMarks = map[string]bool{"than": true, "like": true, "so": true, "own": true, "size": true, "sooo": true}

// BodyVocab answers what BodyRemarks needs to know about a token.
type BodyVocab interface {
	// Person reports a pronoun, possessive or person noun.
	Person(word string) bool
	// BodyPart reports a word naming a part of the human body.
	BodyPart(word string) bool
}

// BodyRemarks returns the positions of body-part words that are compared
// or measured (a comparison mark within CompareWindow tokens after it,
// "face of a", "the size of those calves"), when the body part is a person's: a possessive or a
// person's possessive ("bros", "uncles" once the apostrophe is gone) just
// before it, or the text starts with it.
func BodyRemarks(toks []string, v BodyVocab) []int {
	var out []int
	for i, t := range toks {
		if !v.BodyPart(t) || !owned(toks, i, v) {
			continue
		}
		if i+2 < len(toks) && toks[i+1] == "of" && toks[i+2] == "a" || i >= 3 && toks[i-3] == "size" && toks[i-2] == "of" && pointers[toks[i-1]] {
			out = append(out, i)
			continue
		}
		for j := i + 1; j < len(toks) && j <= i+CompareWindow; j++ {
			if compareMarks[toks[j]] {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// pointers are the demonstratives that point at someone's body part in a
// photo ("that hairline", "those calves").
var pointers = map[string]bool{"that": true, "those": true, "this": true, "these": true}

// owned reports a body part at i that belongs to a person: the text starts
// with it, a demonstrative points at it, someone "has the" it, or one of
// the two tokens before it is a possessive ("her", "my uncles") or a
// person's possessive form.
func owned(toks []string, i int, v BodyVocab) bool {
	if i == 0 || pointers[toks[i-1]] {
		return true
	}
	if i >= 2 && toks[i-1] == "the" && (toks[i-2] == "has" || toks[i-2] == "have" || toks[i-2] == "had" || toks[i-2] == "got") {
		return true
	}
	for j := max(0, i-2); j < i; j++ {
		t := toks[j]
		if v.Person(t) && t != "the" {
			return true
		}
		if s, ok := strings.CutSuffix(t, "s"); ok && len(s) >= 2 && v.Person(s) {
			return true
		}
	}
	return false
}
