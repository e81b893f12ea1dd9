// Package textfilter decides whether a short text (a meme caption, a user's
// own caption, text read from a photo) says something sensitive about a
// person: their health, religion, ethnicity, sexuality, politics, criminal
// record, finances, age, location, identity, appearance, or a slur.
//
// It protects against generated or user-supplied captions that expose what a
// photo implies about the people in it, including captions written to evade
// a word list: case, inflection and plurals, leetspeak (d1abet1c), spacing and
// punctuation inside words (d.i.a.b.e.t.i.c, d i a b e t i c), homoglyphs
// (Cyrillic and Greek look-alikes, from Unicode's confusables data),
// zero-width and combining characters, and compatibility forms (NFKC).
// Matching is on whole normalised tokens, so words that merely contain a
// listed word (Scunthorpe, therapist, cocktail) do not count; a benign-context
// list covers idioms that mention a category word innocently ("fat chance",
// "turkey sandwich", "stole the show").
//
// It does not understand meaning: a sensitive statement made without any
// listed word or pattern passes, and a benign text that uses a listed word
// outside a known idiom is refused. It covers English only (Languages);
// text in other languages is checked against the English lexicons and its
// place names and identifiers only. docs/textfilter.md gives the design, the
// measured recall and false-refusal rate, and the known gaps.
package textfilter

import (
	"sort"
	"strings"
	"sync"

	"github.com/obscuraproject/obscura/internal/textfilter/pattern"
)

// Category is a stable code for one kind of sensitive content. The codes are
// part of the public API (POST /v1/captions/check) and never change.
type Category string

// The categories, in their documented order.
const (
	Health     Category = "health"     // illness, disability, mental health, pregnancy, body weight
	Religion   Category = "religion"   // faiths, practices, places of worship
	Ethnicity  Category = "ethnicity"  // race, nationality, skin colour, migration status
	Sexuality  Category = "sexuality"  // orientation, gender identity, sex life
	Politics   Category = "politics"   // parties, politicians, ideologies, activism
	Criminal   Category = "criminal"   // offences, arrests, convictions, prison
	Finance    Category = "finance"    // debt, income, poverty, wealth
	Age        Category = "age"        // ages, birth years, age groups
	Location   Category = "location"   // addresses, coordinates, place names
	Identifier Category = "identifier" // tagged names, phones, e-mail, IDs, cards, IBANs, URLs
	Appearance Category = "appearance" // remarks on a person's body or looks
	Slur       Category = "slur"       // derogatory terms for a group
)

// Categories lists every category code, in the documented order.
func Categories() []Category {
	return []Category{Health, Religion, Ethnicity, Sexuality, Politics, Criminal, Finance, Age, Location, Identifier, Appearance, Slur}
}

// Options carries what the caller knows about the photo the text is for.
type Options struct {
	// Names are the names of people tagged in the photo. A text that names
	// one of them (the full name or any part of two letters or more) gets
	// the identifier category; a part that is also an everyday word (Will,
	// Rose, Baker) counts only when the text capitalises it.
	Names []string
}

// Verdict is the filter's answer for one text.
type Verdict struct {
	// Allowed is true exactly when Categories is empty.
	Allowed bool
	// Categories found, sorted and unique.
	Categories []Category
}

// Filter checks texts against the embedded lexicons, place list and
// patterns. It is immutable after New and safe for concurrent use.
type Filter struct {
	lex *lexicon
}

// New loads the embedded lexicons, place names and homoglyph table. The
// data is parsed once per process and shared (it is immutable), so later
// calls are cheap.
func New() (*Filter, error) {
	lex, err := loadOnce()
	if err != nil {
		return nil, err
	}
	return &Filter{lex: lex}, nil
}

var loadOnce = sync.OnceValues(loadLexicon)

// Languages lists the languages whose lexicons the filter carries (BCP 47).
func (f *Filter) Languages() []string { return []string{"en"} }

// Check reports the sensitive categories text contains.
func (f *Filter) Check(text string, o Options) Verdict {
	found := map[Category]bool{}
	clean := f.lex.clean(text)
	for _, c := range pattern.Detect(strings.ToLower(clean)) {
		found[Category(c)] = true
	}
	toks, caps := f.lex.words(clean)
	if f.lex.spelledNumber(toks) {
		found[Identifier] = true
	}
	for _, c := range f.lex.match(toks, caps, f.lex.nameEntries(o.Names)) {
		found[c] = true
	}
	return verdictOf(found)
}

func verdictOf(found map[Category]bool) Verdict {
	v := Verdict{Allowed: len(found) == 0}
	for c := range found {
		v.Categories = append(v.Categories, c)
	}
	sort.Slice(v.Categories, func(i, j int) bool { return v.Categories[i] < v.Categories[j] })
	return v
}

// String renders a verdict for logs and test messages ("allowed" or the
// categories joined by commas); it never includes the checked text.
func (v Verdict) String() string {
	if v.Allowed {
		return "allowed"
	}
	s := make([]string, len(v.Categories))
	for i, c := range v.Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}
