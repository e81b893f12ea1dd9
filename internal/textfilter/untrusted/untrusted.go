// Package untrusted prepares text from an untrusted source (text read from
// a photo, OCR output) for use as data inside a caption (issue 19 item 4):
// Unicode-normalised, invisible characters and links removed, length
// limited. It never decides whether the text is sensitive: callers still
// run the filter (internal/textfilter) on the result.
package untrusted

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/textfilter/normalize"
	"github.com/obscuraproject/obscura/internal/textfilter/pattern"

	"golang.org/x/text/unicode/norm"
)

// Clean prepares text read from a photo (OCR output) or any other
// untrusted source for use as data inside a caption: NFKC; control,
// format (zero-width, bidi override and isolate, tag), other invisible and
// private-use characters removed; URLs, e-mail addresses, domain names and
// @handles removed, also when spelled with look-alike characters; whitespace
// collapsed to single spaces; at most maxRunes runes (none if maxRunes ≤ 0).
//
// The result is data, never instructions: callers quote it, never interpret
// it, and still run Check on it before use.
//
// skeleton maps look-alike characters to ASCII (the filter's homoglyph
// table); links spelled with look-alikes are found through it.
func Clean(text string, maxRunes int, skeleton map[rune]rune) string {
	if maxRunes <= 0 {
		return ""
	}
	var rs []rune
	for _, r := range norm.NFKC.String(text) {
		switch {
		case r == utf8.RuneError:
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp) || unicode.IsControl(r):
			rs = append(rs, ' ')
		case unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs) || normalize.Ignorable(r) || isVariationSelector(r):
		default:
			rs = append(rs, r)
		}
	}
	rs = removeLinks(rs, skeleton)
	out := strings.Join(strings.Fields(string(rs)), " ")
	if utf8.RuneCountInString(out) > maxRunes {
		out = strings.TrimSpace(string([]rune(out)[:maxRunes]))
	}
	return out
}

func isVariationSelector(r rune) bool {
	return r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF || r >= 0x180B && r <= 0x180F
}

// reLink finds what removeLinks deletes, on the look-alike skeleton.
var reLink = regexp.MustCompile(`(?i)` + pattern.URL.String() + `|` + pattern.Email.String() + `|` + pattern.Domain.String() + `|` + pattern.Handle.String() + `|\b[a-z0-9-]+(?:\s?\.\s?[a-z0-9-]+)*\s?\.\s?(?:com|net|org|io)\b`)

// removeLinks deletes URL, e-mail, domain and handle spans. Matching runs
// on a rune-for-rune skeleton (homoglyphs mapped to ASCII, lower case), so
// "exаmple.com" with a Cyrillic а goes too.
func removeLinks(rs []rune, skeleton map[rune]rune) []rune {
	sk := make([]rune, len(rs))
	for i, r := range rs {
		if m, ok := skeleton[r]; ok {
			r = m
		}
		if lr := unicode.ToLower(r); utf8.RuneLen(lr) == utf8.RuneLen(r) {
			r = lr
		}
		sk[i] = r
	}
	s := string(sk)
	locs := reLink.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return rs
	}
	// Byte offsets in s → rune offsets (sk and rs align rune for rune).
	drop := make([]bool, len(rs))
	ri, bi := 0, 0
	for _, loc := range locs {
		for ri < len(rs) && bi < loc[0] {
			bi += utf8.RuneLen(sk[ri])
			ri++
		}
		for ri < len(rs) && bi < loc[1] {
			drop[ri] = true
			bi += utf8.RuneLen(sk[ri])
			ri++
		}
	}
	out := rs[:0:0]
	for i, r := range rs {
		if drop[i] {
			if len(out) == 0 || out[len(out)-1] != ' ' {
				out = append(out, ' ')
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
