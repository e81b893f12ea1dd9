package textfilter

import (
	"bufio"
	"embed"
	"fmt"
	"strconv"
	"strings"
)

// The embedded data: the curated lexicon and the generated place list and
// homoglyph table (tools/textfiltergen; sources and licences in each file's
// header).
//
//go:embed data/lexicon.txt data/places.tsv data/confusables.tsv data/words.txt data/wordnet.txt data/wordnet-prune.txt data/wordnet-classes.txt
var dataFS embed.FS

// entry is one lexicon phrase: literal tokens or @class references.
type entry struct {
	toks []string
	neg  string   // class the token after the phrase must not belong to
	pos  string   // class the token after the phrase, if any, must belong to
	cat  Category // "" for a benign phrase
	cue  bool     // counts only after a locative cue (ambiguous place name)
	// capsOnly: counts only when the text capitalises it (a tagged name
	// part that is also an everyday word).
	capsOnly bool
	// quiet: its words are not added to the known words that steer
	// leetspeak decoding and hashtag splitting (the GeoNames towns and
	// city sections: "tran" of a Vietnamese town must not turn "tran5"
	// into "tran").
	quiet bool
	// wn is the derived entry's "category<TAB>lemma" line of
	// data/wordnet.txt, "" for a curated entry.
	wn string
}

// literal reports an entry without class references.
func (e *entry) literal() bool {
	for _, t := range e.toks {
		if strings.HasPrefix(t, "@") {
			return false
		}
	}
	return true
}

// lexicon is the loaded, immutable matching data.
type lexicon struct {
	confusable map[rune]rune
	classes    map[string]map[string]bool
	byFirst    map[string][]*entry // entries whose first token is literal
	classFirst map[string][]*entry // entries whose first token is a class, by class
	wordClass  map[string][]string // the classes each word belongs to
	single     map[string]Category // one-word entries of 6+ letters, for words split by spaces
	known      map[string]bool     // every literal word the lexicon knows
	noinflect  map[string]bool     // words never generated as an inflection
	emoji      *strings.Replacer   // emoji and symbols → words
	joined     map[string]string   // multi-word entries run together → spelt out
	common     map[string]bool     // common lower-case English words (data/words.txt)
	cues       map[string][]string // situation cues → categories (frames.go)
}

func loadLexicon() (*lexicon, error) { return loadLexiconWith(true, nil) }

// loadLexiconWith loads the lexicon with or without the derived WordNet
// entries, leaving out those in prune (nil: the committed prune list).
func loadLexiconWith(withWordNet bool, prune map[string]bool) (*lexicon, error) {
	l := newLexicon()
	if err := l.loadConfusables(); err != nil {
		return nil, err
	}
	// The WordNet word classes first: lexicon.txt's patterns use them.
	for _, name := range []string{"data/wordnet-classes.txt", "data/lexicon.txt"} {
		raw, err := dataFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("textfilter: read lexicon: %w", err)
		}
		if err := l.parse(raw, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if withWordNet {
		if err := l.loadWordNet(prune); err != nil {
			return nil, err
		}
	}
	if err := l.loadPlaces(); err != nil {
		return nil, err
	}
	if err := l.loadWords(); err != nil {
		return nil, err
	}
	return l, nil
}

// parse reads the lexicon format (data/lexicon.txt's header) into l. With
// a non-nil prune set, raw is the derived WordNet lexicon: its entries are
// quiet and traced (entry.wn), and those in prune are left out.
func (l *lexicon) parse(raw []byte, prune map[string]bool) error {
	type line struct {
		section string
		text    string
		n       int
	}
	var lines []line
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
		case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
			section = s[1 : len(s)-1]
			if !validSection(section) {
				return fmt.Errorf("textfilter: lexicon line %d: unknown section %q", n, section)
			}
		case section == "":
			return fmt.Errorf("textfilter: lexicon line %d: entry outside a section", n)
		default:
			lines = append(lines, line{section, s, n})
		}
	}
	var emoji []string
	for _, ln := range lines {
		switch ln.section {
		case "noinflect":
			l.noinflect[ln.text] = true
		case "emoji":
			sym, words, ok := strings.Cut(ln.text, " ")
			if !ok {
				return fmt.Errorf("textfilter: lexicon line %d: want an emoji and its words", ln.n)
			}
			emoji = append(emoji, l.clean(sym), " "+words+" ")
		}
	}
	if len(emoji) > 0 {
		l.emoji = strings.NewReplacer(emoji...)
	}
	// Classes first: phrases refer to them. A class member of several words
	// becomes a literal variant of each phrase that refers to the class.
	multi := map[string][][]string{}
	for _, ln := range lines {
		name, ok := strings.CutPrefix(ln.section, "class:")
		if !ok {
			continue
		}
		if l.classes[name] == nil {
			l.classes[name] = map[string]bool{}
		}
		toks := l.tokenize(l.clean(ln.text))
		switch len(toks) {
		case 0:
			return fmt.Errorf("textfilter: lexicon line %d: empty class member", ln.n)
		case 1:
			if !l.classes[name][toks[0]] {
				l.classes[name][toks[0]] = true
				l.wordClass[toks[0]] = append(l.wordClass[toks[0]], name)
			}
			l.known[toks[0]] = true
		default:
			multi[name] = append(multi[name], toks)
		}
	}
	for _, ln := range lines {
		if strings.HasPrefix(ln.section, "class:") || ln.section == "noinflect" || ln.section == "emoji" {
			continue
		}
		cat := Category(ln.section)
		if ln.section == "benign" {
			cat = ""
		}
		text, exact := strings.CutPrefix(ln.text, "=")
		neg, pos := "", ""
		if i := strings.Index(text, " !@"); i >= 0 {
			neg = text[i+3:]
			text = text[:i]
		} else if i := strings.Index(text, " ?@"); i >= 0 {
			pos = text[i+3:]
			text = text[:i]
		}
		for _, c := range []string{neg, pos} {
			if c != "" && !l.isClass(c) {
				return fmt.Errorf("textfilter: lexicon line %d: unknown class %s", ln.n, c)
			}
		}
		var toks []string
		for _, f := range strings.Fields(text) {
			if strings.HasPrefix(f, "@") {
				if !l.isClass(f[1:]) {
					return fmt.Errorf("textfilter: lexicon line %d: unknown class %s", ln.n, f)
				}
				toks = append(toks, f)
				continue
			}
			toks = append(toks, l.tokenize(l.clean(f))...)
		}
		if len(toks) == 0 {
			return fmt.Errorf("textfilter: lexicon line %d: no words", ln.n)
		}
		wn := ""
		if prune != nil {
			wn = ln.section + "\t" + ln.text
			if prune[wn] {
				continue
			}
		}
		for _, v := range expandClasses(toks, multi) {
			l.add(&entry{toks: v, neg: neg, pos: pos, cat: cat, wn: wn, quiet: wn != ""}, !exact)
		}
	}
	return nil
}

// newLexicon returns an empty lexicon.
func newLexicon() *lexicon {
	return &lexicon{
		confusable: map[rune]rune{},
		classes:    map[string]map[string]bool{},
		byFirst:    map[string][]*entry{},
		classFirst: map[string][]*entry{},
		wordClass:  map[string][]string{},
		single:     map[string]Category{},
		known:      map[string]bool{},
		noinflect:  map[string]bool{},
		joined:     map[string]string{},
	}
}

func validSection(s string) bool {
	if s == "benign" || s == "noinflect" || s == "emoji" || strings.HasPrefix(s, "class:") {
		return true
	}
	for _, c := range Categories() {
		if string(c) == s {
			return true
		}
	}
	return false
}

func (l *lexicon) isClass(name string) bool {
	_, ok := l.classes[name]
	return ok || name == "num" || name == "year"
}

// expandClasses returns toks plus, for each @class whose class has
// multi-word members, the variants with each such member spelled out.
func expandClasses(toks []string, multi map[string][][]string) [][]string {
	out := [][]string{toks}
	for i, t := range toks {
		if !strings.HasPrefix(t, "@") {
			continue
		}
		for _, m := range multi[t[1:]] {
			v := append(append(append([]string{}, toks[:i]...), m...), toks[i+1:]...)
			out = append(out, v)
		}
	}
	return out
}

// add indexes e and, when inflect is set, its last word's regular
// inflections.
func (l *lexicon) add(e *entry, inflect bool) {
	forms := []string{""}
	last := e.toks[len(e.toks)-1]
	if inflect && !strings.HasPrefix(last, "@") {
		forms = forms[:0]
		// Slurs and derived WordNet entries take plurals only: the
		// derived list's -er and -ing forms are often other words
		// (numb → number).
		for _, f := range inflections(last, e.cat == Slur || e.wn != "") {
			if f == last || !l.noinflect[f] {
				forms = append(forms, f)
			}
		}
	}
	for _, f := range forms {
		v := e
		if f != "" && f != last {
			c := *e
			c.toks = append(append([]string{}, e.toks[:len(e.toks)-1]...), f)
			v = &c
		}
		for _, t := range v.toks {
			if !strings.HasPrefix(t, "@") && !v.quiet {
				l.known[t] = true
			}
		}
		if c, ok := strings.CutPrefix(v.toks[0], "@"); ok {
			l.classFirst[c] = append(l.classFirst[c], v)
		} else {
			l.byFirst[v.toks[0]] = append(l.byFirst[v.toks[0]], v)
		}
		literal := !strings.Contains(strings.Join(v.toks, " "), "@")
		if len(v.toks) == 1 && v.cat != "" && len(v.toks[0]) >= 4 && literal && !v.cue && !v.quiet {
			l.single[v.toks[0]] = v.cat
		}
		if len(v.toks) > 1 && literal && !v.quiet {
			l.joined[strings.Join(v.toks, "")] = strings.Join(v.toks, " ")
		}
	}
}

// inflections returns w and its regular English inflections: plural,
// past, gerund, agent and comparative forms, with the sibilant -es, y→i,
// silent-e and consonant-doubling spelling rules; only plurals when
// pluralOnly (slurs are nouns). Over-generation mostly adds non-words; the
// real words it would add are listed in the lexicon's [noinflect] section.
func inflections(w string, pluralOnly bool) []string {
	out := []string{w}
	if len(w) < 3 || !isAlpha(w) {
		return out
	}
	n := len(w)
	last, prev := w[n-1], w[n-2]
	out = append(out, w+"s")
	if strings.ContainsRune("sxzo", rune(last)) || strings.HasSuffix(w, "ch") || strings.HasSuffix(w, "sh") {
		out = append(out, w+"es")
	}
	if last == 'y' && !isVowel(prev) {
		out = append(out, w[:n-1]+"ies")
	}
	if pluralOnly {
		return out
	}
	out = append(out, w+"ed", w+"ing", w+"er", w+"ers", w+"est")
	switch {
	case last == 'y' && !isVowel(prev):
		stem := w[:n-1]
		out = append(out, stem+"ied", stem+"ier", stem+"iest")
	case last == 'e':
		stem := w[:n-1]
		out = append(out, w+"d", w+"r", w+"rs", stem+"ing")
	case !isVowel(last) && last != 'w' && last != 'x' && last != 'y' && isVowel(prev) && !isVowel(w[n-3]):
		d := w + string(last)
		out = append(out, d+"ed", d+"ing", d+"er", d+"ers", d+"est", d+"y")
	}
	return out
}

func isVowel(b byte) bool { return strings.IndexByte("aeiou", b) >= 0 }

func isAlpha(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return s != ""
}

// inClass reports whether word w belongs to class name. Two classes are
// computed: num (a number of years a person can be: 0–130 in digits, or a
// number word) and year (a four-digit year 1900–2039).
func (l *lexicon) inClass(name, w string) bool {
	switch name {
	case "num":
		if n, ok := smallNumber(w); ok {
			return n <= 130 && len(w) <= 3
		}
		return l.classes["number"][w]
	case "year":
		n, ok := smallNumber(w)
		return ok && len(w) == 4 && n >= 1900 && n <= 2039
	}
	return l.classes[name][w]
}

// classesOf lists the classes word w belongs to, computed ones included.
func (l *lexicon) classesOf(w string, buf []string) []string {
	buf = append(buf[:0], l.wordClass[w]...)
	if l.inClass("num", w) {
		buf = append(buf, "num")
	}
	if l.inClass("year", w) {
		buf = append(buf, "year")
	}
	return buf
}

// smallNumber parses a string of at most 9 ASCII digits.
func smallNumber(w string) (int, bool) {
	if w == "" || len(w) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return 0, false
		}
		n = n*10 + int(w[i]-'0')
	}
	return n, true
}

func (l *lexicon) loadPlaces() error {
	raw, err := dataFS.ReadFile("data/places.tsv")
	if err != nil {
		return fmt.Errorf("textfilter: read places: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, flag, _ := strings.Cut(s, "\t")
		var toks []string
		if plainWords(name) {
			toks = strings.Fields(name) // already folded by textfiltergen
		} else {
			toks = l.tokenize(l.clean(name))
		}
		if len(toks) == 0 {
			continue
		}
		// "Turkey sandwich", "New York pizza": a place name before a food
		// (or other thing) word names a style, not where someone is.
		cue := flag == "a" || flag == "c" || len(toks) == 1 && l.inClass("nameplace", toks[0])
		l.add(&entry{toks: toks, cat: Location, cue: cue, quiet: flag == "c", neg: "dish"}, false)
	}
	return sc.Err()
}

// plainWords reports a name of lower-case ASCII letters and single
// spaces, which tokenizes to its words unchanged.
func plainWords(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c != ' ' || i == 0 || s[i-1] == ' ') {
			return false
		}
	}
	return s != "" && s[len(s)-1] != ' '
}

func (l *lexicon) loadConfusables() error {
	raw, err := dataFS.ReadFile("data/confusables.tsv")
	if err != nil {
		return fmt.Errorf("textfilter: read confusables: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		hex, to, ok := strings.Cut(s, "\t")
		cp, err := strconv.ParseUint(hex, 16, 32)
		if !ok || err != nil || len(to) != 1 {
			return fmt.Errorf("textfilter: bad confusables line %q", s)
		}
		l.confusable[rune(cp)] = rune(to[0])
	}
	if len(l.confusable) == 0 {
		return fmt.Errorf("textfilter: empty confusables table")
	}
	return sc.Err()
}

// nameEntries turns the tagged people's names into identifier phrases: the
// full name and each part of two letters or more (with its possessive); a
// part that is also an everyday word ([class:wordname]) only capitalised.
func (l *lexicon) nameEntries(names []string) []*entry {
	var out []*entry
	for _, n := range names {
		toks := l.tokenize(l.clean(n))
		if len(toks) == 0 || len(toks) == 1 && len([]rune(toks[0])) < 2 {
			continue
		}
		out = append(out, &entry{toks: toks, cat: Identifier})
		for _, t := range toks {
			if len([]rune(t)) >= 2 {
				// A part that is also an everyday word counts only when
				// capitalised (capsOnly).
				c := l.classes["wordname"][t]
				out = append(out, &entry{toks: []string{t}, cat: Identifier, capsOnly: c}, &entry{toks: []string{t + "s"}, cat: Identifier, capsOnly: c})
			}
		}
	}
	return out
}

// hit is one matched span of tokens.
type hit struct {
	s, e int
	cat  Category // "" for a benign phrase
	weak bool     // never hides another hit: words joined across spaces, or a class pattern
	wn   string   // the derived WordNet entry that matched (entry.wn)
}

// match returns the categories of the phrases found in toks, after benign
// phrases and longer matches have hidden the hits they contain. An
// ambiguous place name counts only with a locative cue (cued).
func (l *lexicon) match(toks []string, caps []bool, extra []*entry) []Category {
	var cats []Category
	for _, h := range l.survivors(toks, caps, extra) {
		cats = append(cats, h.cat)
	}
	return cats
}

// survivors returns the category hits in toks that no benign phrase,
// longer match or thing's predicate hides.
func (l *lexicon) survivors(toks []string, caps []bool, extra []*entry) []hit {
	var hits []hit
	var cls []string
	try := func(e *entry, i int) {
		if l.matchAt(toks, i, e) && (!e.cue || l.cued(toks, caps, i)) && (!e.capsOnly || caps[i]) {
			hits = append(hits, hit{s: i, e: i + len(e.toks), cat: e.cat, weak: e.cat != "" && !e.literal(), wn: e.wn})
		}
	}
	for i, t := range toks {
		for _, e := range l.byFirst[t] {
			try(e, i)
		}
		cls = l.classesOf(t, cls)
		for _, c := range cls {
			for _, e := range l.classFirst[c] {
				try(e, i)
			}
		}
		for _, e := range extra {
			try(e, i)
		}
		// A word split by spaces or punctuation ("dia betic", "diab.etic").
		if !isAlpha(t) {
			continue
		}
		joined := t
		for j := i + 1; j < len(toks) && j < i+4 && isAlpha(toks[j]); j++ {
			joined += toks[j]
			if c, ok := l.single[joined]; ok && len(joined) >= 6 {
				hits = append(hits, hit{s: i, e: j + 1, cat: c, weak: true})
			}
		}
	}
	hits = append(hits, l.frameHits(toks, caps)...)
	hits = append(hits, l.bodyHits(toks)...)
	if l.residencePlace(toks, caps) || l.namedPlace(toks, caps) {
		hits = append(hits, hit{s: 0, e: 0, cat: Location, weak: true})
	}
	scopes := l.thingScopes(toks)
	var out []hit
	for _, h := range hits {
		if h.cat == "" || hidden(h, hits) || inThingScope(h, scopes) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// hidden reports whether h lies inside a benign phrase or inside a longer
// literal match ("cardiac arrest" hides "arrest"; "Jewish mom", matched by
// the class pattern @demonym @person, keeps "Jewish").
func hidden(h hit, hits []hit) bool {
	for _, o := range hits {
		if o.weak || o.s > h.s || o.e < h.e || o == h {
			continue
		}
		if o.cat == "" || o.e-o.s > h.e-h.s {
			return true
		}
	}
	return false
}

func (l *lexicon) matchAt(toks []string, i int, e *entry) bool {
	if i+len(e.toks) > len(toks) {
		return false
	}
	for k, t := range e.toks {
		w := toks[i+k]
		if strings.HasPrefix(t, "@") {
			if !l.inClass(t[1:], w) {
				return false
			}
		} else if w != t {
			return false
		}
	}
	if n := i + len(e.toks); n < len(toks) && (e.neg != "" && l.inClass(e.neg, toks[n]) || e.pos != "" && !l.inClass(e.pos, toks[n])) {
		return false
	}
	return true
}

// cued reports whether the ambiguous place name at i has a locative cue: a
// travel word just before it ("visiting nice", "trip to china"), a plain
// preposition before a capitalised name ("in Nice", not "in nice
// weather"), or a capitalised state or country code after it ("Austin,
// TX").
func (l *lexicon) cued(toks []string, caps []bool, i int) bool {
	switch {
	case i >= 1 && l.inClass("travel", toks[i-1]):
		return true
	case i >= 2 && l.inClass("travel", toks[i-2]) && l.inClass("locative", toks[i-1]):
		return true
	}
	if caps[i] && i+1 < len(toks) && caps[i+1] && l.inClass("statecode", toks[i+1]) {
		return true // "Austin, TX", "Charlotte NC"
	}
	return caps[i] && i >= 1 && l.inClass("locative", toks[i-1])
}

// thingScopeLen is how many tokens after a non-person subject's verb its
// predicate is taken to run.
const thingScopeLen = 6

// thingAttrLen is how many tokens after a thing's possessive ("my dog's
// weight loss") are taken to describe the thing.
const thingAttrLen = 3

// thingScopeCats are the categories a predicate about a thing, a pet or a
// plant cannot carry about a person ("my plants need therapy", "the dog is
// on trial", "the bridge is 100 years old"). Finance, slurs and the rest
// are not hidden: "my bank account is empty" is about its owner.
var thingScopeCats = map[Category]bool{Health: true, Criminal: true, Appearance: true, Age: true}

// thingScopes returns the token spans [s, e) of predicates whose subject is
// a thing, pet or plant (lexicon class thing, singular or plural) followed
// by a verb of class copula. A span ends early at a conjunction, a pronoun
// or a person word, where the sentence may turn to a person.
func (l *lexicon) thingScopes(toks []string) [][2]int {
	var out [][2]int
	for i := 0; i+1 < len(toks); i++ {
		if l.isThing(toks[i]) && !l.inClass("thing", toks[i]) && !l.inClass("copula", toks[i+1]) {
			// A thing's possessive (the apostrophe is gone: "my dog's
			// weight loss journey") names an attribute of the thing.
			e := i + 1
			for e < len(toks) && e < i+1+thingAttrLen && !l.inClass("pron", toks[e]) && !l.inClass("poss", toks[e]) && !l.inClass("person", toks[e]) {
				e++
			}
			out = append(out, [2]int{i, e})
			continue
		}
		// An animal WordNet knows (class thingwn) is a subject too, but
		// not a possessive: "crow's feet" and "bug eyes" are about people.
		if !(l.isThing(toks[i]) || l.inClass("thingwn", toks[i])) || !l.inClass("copula", toks[i+1]) {
			continue
		}
		if i >= 1 && (l.inClass("person", toks[i-1]) || l.inClass("pron", toks[i-1])) && !l.inClass("poss", toks[i-1]) {
			continue // "he dog is …" is not a thing subject; "his dog is …" is
		}
		e := i + 2
		for e < len(toks) && e < i+2+thingScopeLen {
			t := toks[e]
			if t == "and" || t == "but" || t == "because" || t == "while" || t == "like" || l.inClass("pron", t) || l.inClass("person", t) {
				break
			}
			e++
		}
		out = append(out, [2]int{i, e})
	}
	return out
}

// isThing reports a word of class thing or the plural of one.
func (l *lexicon) isThing(w string) bool {
	if l.inClass("thing", w) {
		return true
	}
	if s, ok := strings.CutSuffix(w, "es"); ok && l.inClass("thing", s) {
		return true
	}
	s, ok := strings.CutSuffix(w, "s")
	return ok && l.inClass("thing", s)
}

// inThingScope reports a hit of a thingScopeCats category that starts
// inside a thing's predicate.
func inThingScope(h hit, scopes [][2]int) bool {
	if !thingScopeCats[h.cat] {
		return false
	}
	for _, sc := range scopes {
		// A hit that starts inside the predicate (after the thing word)
		// belongs to it, even when it runs past a conjunction ("the dog
		// is 12 and still a puppy").
		if h.s >= sc[0] && h.e <= sc[1] || h.s > sc[0] && h.s < sc[1] {
			return true
		}
	}
	return false
}

// residencePlace reports a capitalised word after a residence cue: a word
// of class resverb, then "in", "to", "up in", "from" or "called" in lower
// case, then optionally "the", then the capitalised name ("moved to
// Boulder", "our flat in Kreuzberg", "she's from Toulouse", "a town called
// Hollis"). Days, months, holidays and pronouns (class notplace) are not
// places.
func (l *lexicon) residencePlace(toks []string, caps []bool) bool {
	for i := 1; i+1 < len(toks); i++ {
		t := toks[i]
		cue := false
		switch {
		case t == "in" || t == "to" || t == "called":
			cue = l.inClass("resverb", toks[i-1]) || i >= 2 && toks[i-1] == "up" && l.inClass("resverb", toks[i-2])
		case t == "from":
			cue = l.inClass("pron", toks[i-1]) || toks[i-1] == "originally" || toks[i-1] == "is" || toks[i-1] == "are"
		}
		if !cue || caps[i] {
			continue
		}
		j := i + 1
		if toks[j] == "the" && j+1 < len(toks) {
			j++
		}
		if caps[j] && isAlpha(toks[j]) && len(toks[j]) >= 3 && !l.inClass("notplace", toks[j]) && !l.inClass("pron", toks[j]) && !l.inClass("person", toks[j]) {
			return true
		}
	}
	return false
}
