// Package normalize turns untrusted text into the tokens that
// internal/textfilter matches: Unicode normalisation (NFKC, combining marks,
// format characters), homoglyphs and decorative letters mapped to ASCII,
// emoji read as words, then tokens with leetspeak decoded, masks filled,
// spaced-out letters joined, hashtags split and stretched letters
// shortened. The steps that must guess ("is this a word?") ask the
// filter's Vocabulary, so the package holds no word list of its own.
package normalize

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Clean maps text to the form every detector works on: NFKC, then
// decomposed with combining marks dropped (dïabetic → diabetic),
// format characters dropped (zero-width, bidi controls, tag characters),
// controls and separators turned into spaces, homoglyphs mapped to the
// ASCII letter or digit they imitate. Case is kept (ambiguous place names
// count only when capitalised); tokens and patterns lower-case it.
func Clean(text string, confusable map[rune]rune, emoji *strings.Replacer) string {
	s := norm.NFD.String(norm.NFKC.String(text))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || Ignorable(r):
		case unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			b.WriteByte(' ')
		default:
			if m, ok := confusable[r]; ok {
				r = m
			} else if m, ok := letterLike(r); ok {
				r = m
			}
			b.WriteRune(r)
		}
	}
	if emoji != nil {
		return emoji.Replace(b.String())
	}
	return b.String()
}

// Vocabulary is what tokenizing asks of the filter's lexicon.
type Vocabulary interface {
	// Known reports a word the lexicon lists (it steers leetspeak decoding,
	// masks and stretched letters).
	Known(w string) bool
	// Phrase returns the spelt-out lexicon phrase a hashtag runs together
	// ("blacklivesmatter" → "black lives matter").
	Phrase(run string) (string, bool)
	// Tagword reports a common hashtag word ("goals", "life").
	Tagword(w string) bool
	// Head and Tail report a lexicon word that may split off the start or
	// the end of a hashtag ("#gaylife", "#prayforparis").
	Head(w string) bool
	Tail(w string) bool
}

// smallCaps maps the small capital letters (IPA and phonetic extensions)
// that neither NFKC nor the confusables data turn into ASCII letters.
var smallCaps = map[rune]rune{
	0x1D00: 'a', 0x0299: 'b', 0x1D04: 'c', 0x1D05: 'd', 0x1D07: 'e', 0xA730: 'f', 0x0262: 'g', 0x029C: 'h',
	0x026A: 'i', 0x1D0A: 'j', 0x1D0B: 'k', 0x029F: 'l', 0x1D0D: 'm', 0x0274: 'n', 0x1D0F: 'o', 0x1D18: 'p',
	0x01EB: 'q', 0x0280: 'r', 0xA731: 's', 0x1D1B: 't', 0x1D1C: 'u', 0x1D20: 'v', 0x1D21: 'w', 0x028F: 'y', 0x1D22: 'z',
}

// letterLike maps decorative letters without a compatibility decomposition
// to ASCII: negative circled and negative squared Latin capitals
// (U+1F150–U+1F169, U+1F170–U+1F189), regional indicator symbols
// (U+1F1E6–U+1F1FF, the letters of flag emoji) and small capitals.
func letterLike(r rune) (rune, bool) {
	switch {
	case r >= 0x1F150 && r <= 0x1F169:
		return 'a' + (r - 0x1F150), true
	case r >= 0x1F170 && r <= 0x1F189:
		return 'a' + (r - 0x1F170), true
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return 'a' + (r - 0x1F1E6), true
	}
	m, ok := smallCaps[r]
	return m, ok
}

// Ignorable reports default-ignorable code points that are not format
// characters (Hangul fillers), which render as nothing.
func Ignorable(r rune) bool {
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

// Tokens splits a cleaned text into lower-case word tokens: apostrophes
// removed (she's → shes), leetspeak decoded inside words that contain
// letters, split at every other non-alphanumeric character (% reads as
// "percent"), runs of single characters joined (d i a b e t i c →
// diabetic), and letter runs of three or more shortened to a word the
// vocabulary knows (gaaaay → gay).
func Tokens(clean string, v Vocabulary) []string {
	toks, _ := Words(clean, v)
	return toks
}

// Words is Tokens that also reports, per token, whether the text wrote
// it capitalised.
func Words(clean string, v Vocabulary) (toks []string, caps []bool) {
	var wide []bool // per token: it starts after a gap of two or more spaces
	for _, c := range chunks(clean) {
		chunk := c.text
		first := len(toks)
		chunk = strings.Map(func(r rune) rune {
			switch r {
			case '\'', '’', '‘', 'ʼ', '`', '´':
				return -1
			}
			return r
		}, chunk)
		hashtag := strings.HasPrefix(chunk, "#")
		if hashtag {
			chunk = splitCamel(chunk)
		}
		orig := []rune(chunk)
		d := []rune(deleet(strings.ToLower(chunk), v))
		if len(d) != len(orig) { // deleet maps rune for rune; never expected
			orig = d
		}
		start := -1
		for i := 0; i <= len(d); i++ {
			word := i < len(d) && (unicode.IsLetter(d[i]) || unicode.IsDigit(d[i]))
			if word && start < 0 {
				start = i
			}
			if !word && start >= 0 {
				t := string(d[start:i])
				if hashtag {
					t = hashtagWord(t, v)
				}
				toks = append(toks, strings.Fields(t)...)
				for range strings.Fields(t) {
					caps = append(caps, unicode.IsUpper(orig[start]))
				}
				start = -1
			}
			if i < len(d) && d[i] == '%' {
				toks = append(toks, "percent")
				caps = append(caps, false)
			}
		}
		for k := first; k < len(toks); k++ {
			wide = append(wide, k == first && c.wide)
		}
	}
	toks, caps = joinSingles(toks, caps, wide, v)
	for i, t := range toks {
		toks[i] = shorten(t, v)
	}
	return toks, caps
}

// deleet decodes leetspeak in each run of letters, digits and leet symbols
// of a chunk that mixes letters with digits or symbols; plain numbers,
// numbers with units (3-year-old keeps its 3), handles, e-mail addresses
// and URLs stay as they are.
func deleet(chunk string, v Vocabulary) string {
	if strings.HasPrefix(chunk, "@") || strings.Contains(chunk, "://") || strings.HasPrefix(chunk, "www.") ||
		strings.Contains(chunk, "@") && strings.Contains(chunk, ".") {
		return chunk
	}
	var b strings.Builder
	rs := []rune(chunk)
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || leet[rs[j]] != 0 || j > i && (rs[j] == '*' || rs[j] == '#')) {
			j++
		}
		if j == i {
			b.WriteRune(rs[i])
			i++
			continue
		}
		b.WriteString(deleetRun(string(rs[i:j]), v))
		i = j
	}
	return b.String()
}

// deleetRun decodes one run. A 1 reads as i unless l makes a known word;
// a * or # inside a word stands for the letter that makes a known word.
func deleetRun(chunk string, v Vocabulary) string {
	if !strings.ContainsFunc(chunk, func(r rune) bool { return r >= 'a' && r <= 'z' }) || numberWithUnit.MatchString(chunk) {
		return chunk
	}
	if i := strings.IndexFunc(chunk, unicode.IsDigit); i > 2 && strings.TrimLeftFunc(chunk[i:], unicode.IsDigit) == "" && v.Known(chunk[:i]) {
		return chunk // a known word with digits stuck on (covid19): shorten drops them
	}
	if strings.ContainsAny(chunk, "*#") {
		chunk = unmask(chunk, v)
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
			ok = alnum(i+1) || i > 0 && alnum(i-1)
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
	if strings.ContainsRune(chunk, '1') && !knownChunk(s, v) {
		alt := []rune(s)
		for i, r := range rs {
			if r == '1' {
				alt[i] = 'l'
			}
		}
		if knownChunk(string(alt), v) {
			return string(alt)
		}
	}
	return s
}

func knownChunk(s string, v Vocabulary) bool {
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if v.Known(p) {
			return true
		}
	}
	return false
}

// chunk is one white-space separated part of a text, and whether a gap
// of two or more spaces came before it.
type chunk struct {
	text string
	wide bool
}

// chunks splits s at white space like strings.Fields and marks the parts
// after a wide gap: spelt-out words are separated that way ("j o n a s
// w e b e r" with two spaces between the names).
func chunks(s string) []chunk {
	var out []chunk
	gap := 0
	start := -1
	for i, r := range s + " " {
		if unicode.IsSpace(r) {
			if start >= 0 {
				out = append(out, chunk{text: s[start:i], wide: gap >= 2 && len(out) > 0})
				start, gap = -1, 0
			}
			gap++
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// joinSingles joins runs of single-character tokens: three or more
// (letters, with digits read as leetspeak), or two or more digits. A run
// ends before a token that follows a wide gap (wide).
func joinSingles(toks []string, caps, wide []bool, v Vocabulary) ([]string, []bool) {
	var out []string
	var outCaps []bool
	for i := 0; i < len(toks); {
		j := i
		digits := true
		for j < len(toks) && len([]rune(toks[j])) == 1 && (j == i || !wide[j]) {
			if !unicode.IsDigit([]rune(toks[j])[0]) {
				digits = false
			}
			j++
		}
		switch n := j - i; {
		case n >= 3 || n >= 2 && digits:
			var b strings.Builder
			for _, t := range toks[i:j] {
				r := []rune(t)[0]
				if m, ok := leet[r]; ok && !digits {
					r = m
				}
				b.WriteRune(r)
			}
			w := b.String()
			// A spelt-out word after the article "a" or the pronoun "i"
			// (became a n u n): the joined run is not a word, the run
			// without its first letter is.
			if !digits && n >= 4 && (toks[i] == "a" || toks[i] == "i") && !v.Known(w) && v.Known(w[1:]) {
				out, outCaps = append(out, toks[i]), append(outCaps, caps[i])
				w, i = w[1:], i+1
			}
			out, outCaps = append(out, w), append(outCaps, caps[i])
			i = j
		case n > 0:
			out, outCaps = append(out, toks[i:j]...), append(outCaps, caps[i:j]...)
			i = j
		default:
			out, outCaps = append(out, toks[i]), append(outCaps, caps[i])
			i++
		}
	}
	return out, outCaps
}

// splitCamel puts a space between a lower-case and an upper-case letter
// (#BlackLivesMatter → #Black Lives Matter).
func splitCamel(s string) string {
	var b strings.Builder
	var prev rune
	for _, r := range s {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// hashtagWord reads one lower-case hashtag word: a run-together phrase of
// the lexicon (blacklivesmatter) is spelt out, and a known word at its start
// or end is split off (gaylife → gay life). A head or tail shorter than six
// letters splits off only next to a known word or a common hashtag word
// (@tagword), so #couplegoals is not "coup legoals". Only hashtags are
// searched inside; ordinary words keep whole-token matching.
func hashtagWord(t string, v Vocabulary) string {
	if p, ok := v.Phrase(t); ok {
		return p
	}
	if v.Known(t) {
		return t
	}
	// words reports whether s splits entirely into known words of three
	// letters or more and hashtag words.
	words := func(s string) bool {
		ok := make([]bool, len(s)+1)
		ok[0] = true
		for i := 2; i <= len(s); i++ {
			for j := i - 2; j >= 0 && !ok[i]; j-- {
				w := s[j:i]
				ok[i] = ok[j] && (len(w) >= 3 && v.Known(w) || v.Tagword(w))
			}
		}
		return ok[len(s)]
	}
	for n := len(t) - 1; n >= 3; n-- {
		head, rest := t[:n], t[n:]
		if (v.Head(head)) && (len(head) >= 6 || words(rest)) {
			return head + " " + rest
		}
		tail, front := t[len(t)-n:], t[:len(t)-n]
		if v.Tail(tail) && (len(tail) >= 6 || words(front)) {
			return front + " " + tail
		}
	}
	return t
}

// shorten reduces letter runs of three or more (sooo, gaaay): to two
// letters if that is a known word, else to one if that is, else to two.
func shorten(t string, v Vocabulary) string {
	// A known word with digits stuck on (covid19, trump2024).
	if i := strings.IndexFunc(t, unicode.IsDigit); i > 2 && strings.TrimLeftFunc(t[i:], unicode.IsDigit) == "" && v.Known(t[:i]) {
		return t[:i]
	}
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
	case v.Known(two):
		return two
	case v.Known(one):
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

// unmask fills up to two masked letters (* or # inside a word: r*tard,
// ni**er) with the letters that make a known word; otherwise the mask
// stays and splits the word.
func unmask(run string, v Vocabulary) string {
	rs := []rune(run)
	var at []int
	for i, r := range rs {
		if (r == '*' || r == '#') && i > 0 && i < len(rs)-1 {
			at = append(at, i)
		}
	}
	// Two masks only in words of six or more (ni**er), so s**t stays s**t.
	if len(at) == 0 || len(at) > 2 || len(at) == 2 && len(rs) < 6 {
		return run
	}
	var try func(k int) bool
	try = func(k int) bool {
		if k == len(at) {
			return v.Known(deleetRun(string(rs), v))
		}
		for v := 'a'; v <= 'z'; v++ {
			rs[at[k]] = v
			if try(k + 1) {
				return true
			}
		}
		return false
	}
	if try(0) {
		return string(rs)
	}
	return run
}
