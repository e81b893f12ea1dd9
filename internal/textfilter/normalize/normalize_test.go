package normalize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// words is a small Vocabulary for these unit tests (the filter's lexicon is
// the real one; internal/textfilter's tests run the two together).
type words map[string]bool

func (w words) Known(s string) bool { return w[s] }
func (w words) Phrase(run string) (string, bool) {
	if run == "blacklivesmatter" {
		return "black lives matter", true
	}
	return "", false
}
func (w words) Tagword(s string) bool { return s == "life" }
func (w words) Head(s string) bool    { return w[s] && len(s) >= 4 }
func (w words) Tail(s string) bool    { return w[s] && len(s) >= 4 }

var vocab = words{"diabetic": true, "gay": true, "so": true, "retard": true, "life": true, "pray": true, "paris": true, "covid": true, "lonely": true, "for": true}

func TestClean(t *testing.T) {
	conf := map[rune]rune{'а': 'a', 'е': 'e', 'і': 'i'} // Cyrillic look-alikes
	emoji := strings.NewReplacer("⛪", " church ")
	for _, tt := range []struct{ in, want string }{
		{"dïabetic", "diabetic"},
		{"dі\u200babеtic", "diabetic"}, // Cyrillic and a zero-width space
		{"ｄｉａｂｅｔｉｃ", "diabetic"},       // full width (NFKC)
		{"🅳🅸🅰", "dia"},                 // negative squared capitals
		{"ᴅɪᴀ", "dia"},                 // small capitals
		{"a\tb\u2028c", "a b c"},       // controls and separators
		{"at ⛪", "at  church "},
	} {
		if got := Clean(tt.in, conf, emoji); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"she's d1abet1c", "shes diabetic"},
		{"d.i.a.b.e.t.i.c", "diabetic"},
		{"d i a b e t i c", "diabetic"},
		{"j o n a s  w e b e r", "jonas weber"}, // a wide gap separates spelt-out words
		{"x  d i a b e t i c", "x diabetic"},
		{"gaaaay sooo", "gay so"},
		{"r*tard", "retard"},
		{"s**t", "s t"},
		{"#BlackLivesMatter", "black lives matter"},
		{"#blacklivesmatter", "black lives matter"},
		{"#prayforparis", "prayfor paris"},
		{"covid19", "covid"},
		{"150k 3rd 12yo", "150k 3rd 12yo"},
		{"50%", "50 percent"},
	} {
		if got := strings.Join(Tokens(tt.in, vocab), " "); got != tt.want {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	toks, caps := Words("Will is late", vocab)
	if len(toks) != 3 || !caps[0] || caps[1] {
		t.Errorf("Words caps = %v %v", toks, caps)
	}
}

// FuzzTokens checks that cleaning and tokenizing never panic, give valid
// UTF-8 lower-case tokens without spaces, one capital flag per token, and
// are deterministic.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"", "d1abet1c", "d i a b e t i c", "#GayLife", "r*tard", "\u200b\u202e", "ｆｕｌｌ", "\xff\xfe", "aaaaaaaaaaaa", "* * * #"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s, nil, nil)
		toks, caps := Words(c, vocab)
		if len(toks) != len(caps) {
			t.Fatalf("Words(%q): %d tokens, %d flags", c, len(toks), len(caps))
		}
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, " \t\n") || !utf8.ValidString(tok) || strings.ToLower(tok) != tok {
				t.Fatalf("Words(%q) gave token %q", c, tok)
			}
		}
		again, _ := Words(c, vocab)
		if strings.Join(again, " ") != strings.Join(toks, " ") {
			t.Fatalf("Words(%q) not deterministic", c)
		}
	})
}
