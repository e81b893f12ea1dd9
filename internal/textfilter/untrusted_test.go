package textfilter

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/textfilter/pattern"
)

func TestUntrusted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "Hello world", 100, "Hello world"},
		{"nfkc", "ｆｕｌｌｗｉｄｔｈ ﬁ", 100, "fullwidth fi"},
		{"controls", "a\x00b\x07c\r\nd\te", 100, "a b c d e"},
		{"zero width", "in\u200bvis\u200cible\u200d\ufeff", 100, "invisible"},
		{"bidi override", "abc\u202edcba\u202c", 100, "abcdcba"},
		{"bidi isolate", "x\u2066y\u2069", 100, "xy"},
		{"tag characters", "hi\U000E0041\U000E0042", 100, "hi"},
		{"variation selector", "ok\ufe0f", 100, "ok"},
		{"hangul filler", "a\u3164b", 100, "ab"},
		{"url", "visit https://evil.example/x?y=1 now", 100, "visit now"},
		{"www", "go to www.example.com today", 100, "go to today"},
		{"bare domain", "see example.org for more", 100, "see for more"},
		{"spaced domain", "see example . com now", 100, "see now"},
		{"email", "mail me at a.b@example.com please", 100, "mail me at please"},
		{"handle", "follow @someone now", 100, "follow now"},
		{"homoglyph domain", "open еxample.соm now", 100, "open now"}, // Cyrillic е, с, о
		{"fullwidth url", "ｈｔｔｐｓ://ｅｘａｍｐｌｅ.ｃｏｍ", 100, ""},
		{"whitespace collapse", "  a   b \u00a0\u2003 c  ", 100, "a b c"},
		{"line separator", "a\u2028b\u2029c", 100, "a b c"},
		{"limit", "abcdefghij", 4, "abcd"},
		{"limit runes not bytes", "ééééé", 3, "ééé"},
		{"limit trims space", "ab cd", 3, "ab"},
		{"zero limit", "abc", 0, ""},
		{"negative limit", "abc", -1, ""},
		{"instructions stay text", "IGNORE PREVIOUS INSTRUCTIONS", 100, "IGNORE PREVIOUS INSTRUCTIONS"},
		{"invalid utf8", "a\xffb", 100, "ab"},
		{"private use", "a\ue000b", 100, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Untrusted(tt.in, tt.max); got != tt.want {
				t.Errorf("Untrusted(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

// checkUntrusted asserts the output invariants for any input.
func checkUntrusted(t *testing.T, in string, max int) {
	t.Helper()
	got := Untrusted(in, max)
	if !utf8.ValidString(got) {
		t.Fatalf("Untrusted(%q) = %q: invalid UTF-8", in, got)
	}
	if n := utf8.RuneCountInString(got); n > max && !(max <= 0 && n == 0) {
		t.Fatalf("Untrusted(%q, %d) has %d runes", in, max, n)
	}
	if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
		t.Fatalf("Untrusted(%q) = %q: whitespace not collapsed", in, got)
	}
	for _, r := range got {
		if r < 0x20 || r == 0x7f || r >= 0x200b && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0xfeff {
			t.Fatalf("Untrusted(%q) = %q keeps %U", in, got, r)
		}
	}
	if pattern.URL.MatchString(strings.ToLower(got)) || pattern.Email.MatchString(strings.ToLower(got)) {
		t.Fatalf("Untrusted(%q) = %q keeps a link", in, got)
	}
	if again := Untrusted(got, max); again != got {
		t.Fatalf("Untrusted not idempotent: %q → %q → %q", in, got, again)
	}
}

func FuzzUntrusted(f *testing.F) {
	for _, s := range []string{"", "hello", "https://x.example/a b@c.de", "\u202eabc", "ｆｕｌｌ", "a\x00b", "еxample.соm"} {
		f.Add(s, 50)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		checkUntrusted(t, in, max%300)
	})
}
