package textfilter

import (
	"bufio"
	"fmt"
	"strings"
)

// Named places that no list can hold (a hotel, a shop, a school, a street
// without a house number, a crossing): the fourth round's location rules.
// They read capitals as the sign of a proper name, so a text written in
// Title Case or all capitals is read as if it were in lower case (where
// only the rules without capitals apply: "corner of 5th").

// loadWords reads data/words.txt, the common lower-case English words: a
// capitalised word that is not one of them (nor a lexicon word) is taken
// for a proper name.
func (l *lexicon) loadWords() error {
	raw, err := dataFS.ReadFile("data/words.txt")
	if err != nil {
		return fmt.Errorf("textfilter: read words: %w", err)
	}
	l.common = make(map[string]bool, 70000)
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		if s := sc.Text(); s != "" && !strings.HasPrefix(s, "#") {
			l.common[s] = true
		}
	}
	if len(l.common) == 0 {
		return fmt.Errorf("textfilter: empty common-word list")
	}
	return sc.Err()
}

// venueCues are the lower-case phrases after which a capitalised proper
// name is where someone is, stays or works ("staying at the Marriott",
// "works at Denny's", "next to the Shell station").
var venueCues = [][]string{
	{"at"}, {"staying", "at"}, {"stays", "at"}, {"stayed", "at"}, {"works", "at"}, {"work", "at"}, {"working", "at"},
	{"worked", "at"}, {"shift", "at"}, {"job", "at"}, {"next", "to"}, {"across", "from"}, {"opposite"}, {"behind"},
	{"outside"}, {"near"}, {"in", "front", "of"}, {"around", "the", "corner", "from"}, {"down", "the", "street", "from"},
}

// namedPlace reports a proper name in a place position: after a venue cue,
// before a place noun ("Oak Park", "Baker Hall", "the Mission district",
// "Birch Rd"), after a place prefix ("Lake Tahoe", "Fort Worth"), or a
// street crossing ("on 5th and Main", "corner of Elm and Maple", "corner of
// 5th").
func (l *lexicon) namedPlace(toks []string, caps []bool) bool {
	if titleCased(toks, caps) {
		caps = make([]bool, len(toks)) // capitals say nothing: read as lower case
	}
	for i, t := range toks {
		// A capitalised name before a place noun; sentence-initial only
		// when the noun is capitalised too.
		if i+1 < len(toks) && caps[i] && l.nameLike(t) && l.inClass("placenoun", toks[i+1]) && (i > 0 || caps[i+1]) && !l.inClass("notplace", t) &&
			(i+2 >= len(toks) || !l.isThing(toks[i+2]) && !l.inClass("dish", toks[i+2])) {
			return true // not a style: "Park Avenue sneakers"
		}
		// A place prefix before a capitalised name.
		if i+1 < len(toks) && caps[i] && caps[i+1] && l.inClass("placeprefix", t) && l.nameLike(toks[i+1]) {
			return true
		}
		if t == "corner" && i+2 < len(toks) && toks[i+1] == "of" && (isStreetOrdinal(toks[i+2]) || caps[i+2] && l.nameLike(toks[i+2])) {
			return true // "corner of 5th", "corner of Elm and Maple"
		}
		if (t == "on" || t == "at") && !caps[i] && i+3 < len(toks) && l.crossing(toks, caps, i+1) {
			return true
		}
		for _, cue := range venueCues {
			if cue[0] == "at" && i > 0 && l.inClass("atverb", toks[i-1]) {
				continue // "laughing at the Kardashians", "good at Tetris"
			}
			if j, ok := l.after(toks, caps, i, cue); ok && j < len(toks) && caps[j] && l.properName(toks[j]) {
				return true
			}
		}
	}
	return false
}

// after reports whether the lower-case phrase cue starts at i, and the
// index after it and an optional "the".
func (l *lexicon) after(toks []string, caps []bool, i int, cue []string) (int, bool) {
	if i+len(cue) > len(toks) {
		return 0, false
	}
	for k, w := range cue {
		if toks[i+k] != w || caps[i+k] {
			return 0, false
		}
	}
	j := i + len(cue)
	if j < len(toks) && toks[j] == "the" && !caps[j] {
		j++
	}
	return j, true
}

// crossing reports "A and B" at i where A and B are street names, an
// ordinal ("5th") or a capitalised name, and at least one is an ordinal
// ("on 5th and Main", not "on Tom and Jerry").
func (l *lexicon) crossing(toks []string, caps []bool, i int) bool {
	if i+2 >= len(toks) || toks[i+1] != "and" {
		return false
	}
	street := func(k int) (ok, ord bool) {
		if isStreetOrdinal(toks[k]) {
			return true, true
		}
		return caps[k] && isAlpha(toks[k]) && len(toks[k]) >= 3 && !l.inClass("notplace", toks[k]), false
	}
	a, ao := street(i)
	b, bo := street(i + 2)
	return a && b && (ao || bo)
}

// isStreetOrdinal reports a numbered street such as 5th, 42nd or 1st.
func isStreetOrdinal(w string) bool {
	n := 0
	for n < len(w) && w[n] >= '0' && w[n] <= '9' {
		n++
	}
	if n == 0 || n > 3 {
		return false
	}
	switch w[n:] {
	case "st", "nd", "rd", "th":
		return true
	}
	return false
}

// nameLike reports a word that can be part of a place's name: letters
// only, three or more, not a pronoun or a person word.
func (l *lexicon) nameLike(w string) bool {
	return isAlpha(w) && len(w) >= 3 && !l.inClass("pron", w) && !l.inClass("poss", w) && !l.inClass("person", w)
}

// properName reports a capitalised word that is a proper name: not a
// common English word, not a word of a lexicon class (demonyms, languages,
// days and months, the apps and events of [class:notvenue]) and not a
// one-word lexicon entry ("Catholic", "Ramadan": those have their own
// category).
func (l *lexicon) properName(w string) bool {
	if !l.nameLike(w) || l.common[w] || len(l.wordClass[w]) > 0 {
		return false
	}
	for _, e := range l.byFirst[w] {
		if len(e.toks) == 1 && !e.cue {
			return false
		}
	}
	return true
}

// titleCased reports a text in Title Case or all capitals: at least 80 %
// of its words of three letters or more (after the first) capitalised,
// and at least two of them.
func titleCased(toks []string, caps []bool) bool {
	n, c := 0, 0
	for i := 1; i < len(toks); i++ {
		if len(toks[i]) >= 3 && isAlpha(toks[i]) {
			n++
			if caps[i] {
				c++
			}
		}
	}
	return n >= 2 && c*10 >= n*8
}
