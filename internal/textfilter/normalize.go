package textfilter

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// clean maps text to the form every detector works on: NFKC, then
// decomposed with combining marks dropped (dïabetic → diabetic),
// format characters dropped (zero-width, bidi controls, tag characters),
// controls and separators turned into spaces, homoglyphs mapped to the
// ASCII letter or digit they imitate, and lower case.
func (l *lexicon) clean(text string) string {
	s := norm.NFD.String(norm.NFKC.String(text))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || ignorable(r):
		case unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			b.WriteByte(' ')
		default:
			if m, ok := l.confusable[r]; ok {
				r = m
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ignorable reports default-ignorable code points that are not format
// characters (Hangul fillers), which render as nothing.
func ignorable(r rune) bool {
	return r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0
}

// numberWithUnit matches chunks that are numbers with a short suffix
// ("150k", "3rd", "80s", "12yo"), which are not leetspeak.
var numberWithUnit = regexp.MustCompile(`^[$£€]?[0-9][0-9.,]*(?:st|nd|rd|th|s|k|m|b|bn|mil|yo|yr|yrs|am|pm|x|mp|kg|g|lb|lbs|km|cm|mm|ft|in|h|hr|hrs|min|mins|sec|secs|gb|tb|mb|p|d|mo|ish|v|w|hz|ml|l)?$`)

// leet maps the digits and symbols commonly used for letters.
var leet = map[rune]rune{
	'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '6': 'g',
	'@': 'a', '$': 's', '!': 'i', '|': 'l', '+': 't', '€': 'e',
}

// tokenize splits a cleaned text into word tokens: apostrophes removed
// (she's → shes), leetspeak decoded inside words that contain letters,
// split at every other non-alphanumeric character, runs of single
// characters joined (d i a b e t i c → diabetic), and letter runs of three
// or more shortened to a word the lexicon knows (gaaaay → gay).
func (l *lexicon) tokenize(clean string) []string {
	var toks []string
	for _, chunk := range strings.Fields(clean) {
		chunk = strings.Map(func(r rune) rune {
			switch r {
			case '\'', '’', '‘', 'ʼ', '`', '´':
				return -1
			}
			return r
		}, chunk)
		chunk = strings.ReplaceAll(l.deleet(chunk), "%", " percent ")
		toks = append(toks, strings.FieldsFunc(chunk, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})...)
	}
	toks = l.joinSingles(toks)
	for i, t := range toks {
		toks[i] = l.shorten(t)
	}
	return toks
}

// deleet decodes leetspeak in each run of letters, digits and leet symbols
// of a chunk that mixes letters with digits or symbols; plain numbers,
// numbers with units (3-year-old keeps its 3), handles, e-mail addresses
// and URLs stay as they are.
func (l *lexicon) deleet(chunk string) string {
	if strings.HasPrefix(chunk, "@") || strings.Contains(chunk, "://") || strings.HasPrefix(chunk, "www.") ||
		strings.Contains(chunk, "@") && strings.Contains(chunk, ".") {
		return chunk
	}
	var b strings.Builder
	rs := []rune(chunk)
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || leet[rs[j]] != 0) {
			j++
		}
		if j == i {
			b.WriteRune(rs[i])
			i++
			continue
		}
		b.WriteString(l.deleetRun(string(rs[i:j])))
		i = j
	}
	return b.String()
}

// deleetRun decodes one run. A 1 reads as i unless l makes a known word.
func (l *lexicon) deleetRun(chunk string) string {
	if !strings.ContainsFunc(chunk, func(r rune) bool { return r >= 'a' && r <= 'z' }) || numberWithUnit.MatchString(chunk) {
		return chunk
	}
	rs := []rune(chunk)
	alnum := func(i int) bool {
		return i >= 0 && i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]))
	}
	out := make([]rune, len(rs))
	changed := false
	for i, r := range rs {
		out[i] = r
		m, ok := leet[r]
		if !ok {
			continue
		}
		switch r {
		case '@', '$', '€':
			ok = alnum(i + 1)
		case '!', '|', '+':
			ok = alnum(i-1) && alnum(i+1)
		}
		if ok {
			out[i] = m
			changed = true
		}
	}
	if !changed {
		return chunk
	}
	s := string(out)
	if strings.ContainsRune(chunk, '1') && !l.knownChunk(s) {
		alt := []rune(s)
		for i, r := range rs {
			if r == '1' {
				alt[i] = 'l'
			}
		}
		if l.knownChunk(string(alt)) {
			return string(alt)
		}
	}
	return s
}

func (l *lexicon) knownChunk(s string) bool {
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if l.known[p] {
			return true
		}
	}
	return false
}

// joinSingles joins runs of single-character tokens: three or more
// (letters, with digits read as leetspeak), or two or more digits.
func (l *lexicon) joinSingles(toks []string) []string {
	out := toks[:0:0]
	for i := 0; i < len(toks); {
		j := i
		digits := true
		for j < len(toks) && len([]rune(toks[j])) == 1 {
			if !unicode.IsDigit([]rune(toks[j])[0]) {
				digits = false
			}
			j++
		}
		n := j - i
		switch {
		case n >= 3 || n >= 2 && digits:
			var b strings.Builder
			for _, t := range toks[i:j] {
				r := []rune(t)[0]
				if m, ok := leet[r]; ok && !digits {
					r = m
				}
				b.WriteRune(r)
			}
			out = append(out, b.String())
			i = j
		case n > 0:
			out = append(out, toks[i:j]...)
			i = j
		default:
			out = append(out, toks[i])
			i++
		}
	}
	return out
}

// shorten reduces letter runs of three or more (sooo, gaaay): to two
// letters if that is a known word, else to one if that is, else to two.
func (l *lexicon) shorten(t string) string {
	rs := []rune(t)
	long := false
	for i := 2; i < len(rs); i++ {
		if rs[i] == rs[i-1] && rs[i] == rs[i-2] && unicode.IsLetter(rs[i]) {
			long = true
			break
		}
	}
	if !long {
		return t
	}
	two, one := collapse(rs, 2), collapse(rs, 1)
	switch {
	case l.known[two]:
		return two
	case l.known[one]:
		return one
	}
	return two
}

// collapse shortens every run of three or more equal runes to keep runes.
func collapse(rs []rune, keep int) string {
	var b strings.Builder
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		n := j - i
		if n >= 3 {
			n = keep
		}
		for k := 0; k < n; k++ {
			b.WriteRune(rs[i])
		}
		i = j
	}
	return b.String()
}
