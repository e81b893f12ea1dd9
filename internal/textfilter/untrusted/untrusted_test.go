package untrusted

import "testing"

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
