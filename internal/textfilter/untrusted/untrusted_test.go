package untrusted

import (
	"testing"
	"unicode/utf8"
)

// TestClean covers the package on its own; internal/textfilter's
// TestUntrusted and FuzzUntrusted run it with the real homoglyph table.
func TestClean(t *testing.T) {
	skel := map[rune]rune{'а': 'a'} // Cyrillic a
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"hello   world", 50, "hello world"},
		{"visit exаmple.com now", 50, "visit now"}, // look-alike link removed
		{"zero\u200bwidth", 50, "zerowidth"},
		{"abcdef", 3, "abc"},
		{"anything", 0, ""},
	} {
		if got := Clean(c.in, c.max, skel); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// FuzzClean: Clean never panics and never returns more than maxRunes
// runes or a link the skeleton reveals.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"visit exаmple.com now", "a\u200b\u202eb", "", "@handle hi", "x.y . com"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 200
		out := Clean(s, max, map[rune]rune{'а': 'a'})
		if n := utf8.RuneCountInString(out); max >= 0 && n > max || max <= 0 && out != "" {
			t.Fatalf("Clean(%q, %d) = %q: %d runes", s, max, out, n)
		}
	})
}
