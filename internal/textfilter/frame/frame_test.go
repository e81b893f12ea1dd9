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
