package frame

import (
	"strings"
	"testing"
)

// vocab is a test double: a few person words, names and cues.
type vocab struct{}

func (vocab) Person(w string) bool { return w == "my" || w == "she" || w == "dad" }
func (vocab) Name(w string) bool   { return w == "jake" }
func (vocab) Cues(w string) []string {
	switch w {
	case "rent":
		return []string{"finance"}
	case "court":
		return []string{"criminal"}
	}
	return nil
}

func TestFind(t *testing.T) {
	for _, c := range []struct {
		text string
		caps string // indexes of capitalised tokens, as letters "y"/"n" per token; "" = none
		want string // categories found, joined
	}{
		{"my dad is in court again", "", "criminal"},
		{"she paid the rent", "", "finance"},
		{"the court was muddy after rain", "", ""},
		{"rent", "", ""},
		{"my a b c d court", "", ""},       // five tokens away: outside the window
		{"my a b c court", "", "criminal"}, // four tokens away
		{"court a b c d she", "", ""},      // after, five away
		{"jake is in court", "ynnn", "criminal"},
		{"jake is in court", "", ""}, // a name counts only capitalised
	} {
		toks := strings.Fields(c.text)
		caps := make([]bool, len(toks))
		for i := range caps {
			caps[i] = i < len(c.caps) && c.caps[i] == 'y'
		}
		var got []string
		for _, h := range Find(toks, caps, vocab{}) {
			if toks[h.Pos] != h.Word {
				t.Errorf("Find(%q): hit at %d names %q, token is %q", c.text, h.Pos, h.Word, toks[h.Pos])
			}
			got = append(got, h.Category)
		}
		if g := strings.Join(got, ","); g != c.want {
			t.Errorf("Find(%q) = %q, want %q", c.text, g, c.want)
		}
	}
}

// bodyVocab is a test double for BodyRemarks.
type bodyVocab struct{}

func (bodyVocab) Person(w string) bool { return w == "her" || w == "my" || w == "uncle" }
func (bodyVocab) BodyPart(w string) bool {
	return w == "nose" || w == "teeth" || w == "head" || w == "face"
}

func TestBodyRemarks(t *testing.T) {
	for _, c := range []struct {
		text string
		want int // hits
	}{
		{"her teeth are whiter than snow", 1},
		{"nose so big it needs a seat", 1},  // the text starts with it
		{"my uncles head is so shiny", 1},   // a person's possessive
		{"my face of a monday", 1},          // "face of a"
		{"her teeth are white", 0},          // no comparison
		{"the nose cone is bigger than", 0}, // not a person's
		{"her teeth a b c d than", 0},       // comparison too far
		{"her nose is a b than", 1},         // within the window
		{"sandwich the size of my head", 0}, // the mark before the body part
	} {
		if got := len(BodyRemarks(strings.Fields(c.text), bodyVocab{})); got != c.want {
			t.Errorf("BodyRemarks(%q) = %d hits, want %d", c.text, got, c.want)
		}
	}
}

// FuzzFrames: Find and BodyRemarks never panic on any token sequence and
// report positions inside it.
func FuzzFrames(f *testing.F) {
	for _, s := range []string{"my dad is in court", "size of those teeth", "of a", "face of", "her teeth than", "", "size of"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := strings.Fields(s)
		caps := make([]bool, len(toks))
		for i := range caps {
			caps[i] = i%2 == 0
		}
		for _, h := range Find(toks, caps, vocab{}) {
			if h.Pos < 0 || h.Pos >= len(toks) || toks[h.Pos] != h.Word {
				t.Fatalf("Find(%q): bad hit %+v", s, h)
			}
		}
		for _, i := range BodyRemarks(toks, bodyVocab{}) {
			if i < 0 || i >= len(toks) || !(bodyVocab{}).BodyPart(toks[i]) {
				t.Fatalf("BodyRemarks(%q): bad position %d", s, i)
			}
		}
	})
}
