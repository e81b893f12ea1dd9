package textfilter

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	sharedOnce   sync.Once
	sharedFilter *Filter
	sharedErr    error
)

// shared returns one Filter for the whole test binary (loading is the
// expensive part and the Filter is immutable).
func shared(t testing.TB) *Filter {
	t.Helper()
	sharedOnce.Do(func() { sharedFilter, sharedErr = New() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedFilter
}

func TestCheck(t *testing.T) {
	f := shared(t)
	tests := []struct {
		name  string
		text  string
		names []string
		want  []Category
	}{
		{"empty", "", nil, nil},
		{"plain benign", "When the pizza arrives", nil, nil},
		{"health word", "my diabetic friend", nil, []Category{Health}},
		{"plural", "Diabetics at the picnic", nil, []Category{Health}},
		{"past tense", "he got arrested", nil, []Category{Criminal}},
		{"case", "DIABETIC", nil, []Category{Health}},
		{"leetspeak", "d1abet1c", nil, []Category{Health}},
		{"leetspeak l", "a1coholic uncle", nil, []Category{Health}},
		{"dotted", "d.i.a.b.e.t.i.c", nil, []Category{Health}},
		{"spaced", "d i a b e t i c", nil, []Category{Health}},
		{"dashed", "d-i-a-b-e-t-i-c", nil, []Category{Health}},
		{"split word", "dia betic snack", nil, []Category{Health}},
		{"elongated", "gaaaay", nil, []Category{Sexuality}},
		{"cyrillic homoglyph", "diаbetic", nil, []Category{Health}}, // а is U+0430
		{"greek homoglyph", "gαy", nil, []Category{Sexuality}},      // α is U+03B1
		{"zero width", "dia\u200bbetic", nil, []Category{Health}},
		{"bidi override", "dia\u202ebetic", nil, []Category{Health}},
		{"combining marks", "d\u0308iabetic", nil, []Category{Health}},
		{"fullwidth NFKC", "ｄｉａｂｅｔｉｃ", nil, []Category{Health}},
		{"math letters NFKC", "𝐝𝐢𝐚𝐛𝐞𝐭𝐢𝐜", nil, []Category{Health}},
		{"scunthorpe therapist", "my therapist is great", nil, []Category{Health}},
		{"scunthorpe inside word", "grape juice and cocktails", nil, nil},
		{"scunthorpe spice", "pumpkin spice season", nil, nil},
		{"idiom dying", "I'm dying, this is hilarious", nil, nil},
		{"idiom crazy good", "crazy good tacos", nil, nil},
		{"idiom sick trick", "sick trick bro", nil, nil},
		{"idiom turkey sandwich", "Turkey sandwich again", nil, nil},
		{"turkey the country", "holiday in Turkey", nil, []Category{Location}},
		{"idiom old school", "old school vibes", nil, nil},
		{"idiom allergic", "allergic to Mondays", nil, nil},
		{"real allergy", "allergic to peanuts", nil, []Category{Health}},
		{"idiom heart attack", "you gave me a heart attack", nil, nil},
		{"ambiguous place without cue", "in nice weather", nil, nil},
		{"ambiguous place capitalised after in", "a week in Nice", nil, []Category{Location}},
		{"ambiguous place after travel word", "trip to china", nil, []Category{Location}},
		{"place before a dish", "New York pizza", nil, nil},
		{"dog breed", "our Maine Coon", nil, nil},
		{"emoji", "⛪ on sunday", nil, []Category{Religion}},
		{"emoji zwj sequence", "🏳️‍🌈 forever", nil, []Category{Sexuality}},
		{"masked letter", "r*tard", nil, []Category{Health, Slur}},
		{"two masked letters", "ni**er", nil, []Category{Ethnicity, Slur}},
		{"masked benign word", "f**k this", nil, nil},
		{"masked short word", "s**t happens", nil, nil},
		{"negative squared letters", "🅳🅸🅰🅱🅴🆃🅸🅲", nil, []Category{Health}},
		{"small capitals", "ᴅɪᴀʙᴇᴛɪᴄ", nil, []Category{Health}},
		{"hashtag run together", "#blacklivesmatter", nil, []Category{Politics}},
		{"hashtag camel case", "#GayLife", nil, []Category{Sexuality}},
		{"hashtag word inside", "#fatlossjourney", nil, []Category{Appearance, Health}},
		{"hashtag benign", "#sundayfunday #nofilter", nil, nil},
		{"hashtag with an ambiguous place word", "#readinglist #nicevibes", nil, nil},
		{"hashtag short word inside another", "#couplegoals #igers", nil, nil},
		{"hashtag place after a tag word", "#prayforparis", nil, []Category{Location}},
		{"hashtag with digits", "#maga2024", nil, []Category{Politics}},
		{"digits stuck on", "covid19 again", nil, []Category{Health}},
		{"trailing at sign", "nigg@", nil, []Category{Ethnicity, Slur}},
		{"archaic gay still counts", "a gay old time", nil, []Category{Sexuality}},
		{"demonym food", "Chinese food night", nil, nil},
		{"demonym person", "Chinese tourists everywhere", nil, []Category{Ethnicity}},
		{"language", "learning French", nil, nil},
		{"language skills", "my French is rusty", nil, nil},
		{"people after a language word", "talking to Spanish people", nil, []Category{Ethnicity}},
		{"three categories", "fat muslim guy", nil, []Category{Appearance, Health, Religion}},
		{"tagged name", "Jessica again", []string{"Jessica Moore"}, []Category{Identifier}},
		{"tagged surname", "the Moore family", []string{"Jessica Moore"}, []Category{Identifier}},
		{"tagged name possessive", "Jessica's cake", []string{"Jessica Moore"}, []Category{Identifier}},
		{"untagged name", "Jessica again", nil, nil},
		{"one-letter tag ignored", "plan b and j k", []string{"B", " ", ""}, nil},
		{"tagged name that is a word, lower case", "will it rain", []string{"Will Turner"}, nil},
		{"tagged name that is a word, capitalised", "Will is late", []string{"Will Turner"}, []Category{Identifier}},
		{"tagged full name that is words", "will turner again", []string{"Will Turner"}, []Category{Identifier}},
		{"phone", "call 555-867-5309", nil, []Category{Identifier}},
		{"email", "mail jo@example.org", nil, []Category{Identifier}},
		{"url", "see https://example.com/x", nil, []Category{Identifier}},
		{"domain", "visit example.net", nil, []Category{Identifier}},
		{"handle", "follow @cool_guy", nil, []Category{Identifier}},
		{"card", "4111 1111 1111 1111", nil, []Category{Identifier}},
		{"iban", "GB82 WEST 1234 5698 7654 32", nil, []Category{Identifier}},
		{"ssn", "123-45-6789", nil, []Category{Identifier}},
		{"passport", "passport X1234567", nil, []Category{Identifier}},
		{"short number", "top 10 dogs of 2024", nil, nil},
		{"date", "summer 12/07/2024", nil, nil},
		{"dotted date", "25.12.2023 best day", nil, nil},
		{"iso date", "2024-06-01 road trip", nil, nil},
		{"year range", "seasons 2019-2023 recap", nil, nil},
		{"road trip", "3 days on the road trip", nil, nil},
		{"dotted phone", "555.867.5309", nil, []Category{Identifier}},
		{"coordinates", "at 51.5074, -0.1278", nil, []Category{Location}},
		{"dms", "47°36'N 122°19'W", nil, []Category{Location}},
		{"street address", "42 Elm Street", nil, []Category{Location}},
		{"on the road", "life on the open road", nil, nil},
		{"postcode", "SW1A 1AA", nil, []Category{Location}},
		{"age years old", "she is 40 years old", nil, []Category{Age}},
		{"age hyphen", "our 3-year-old", nil, []Category{Age}},
		{"age words", "turning thirty soon", nil, []Category{Age}},
		{"minutes not age", "I'm 5 minutes away", nil, nil},
		{"count not age", "I'm 2 coffees deep", nil, nil},
		{"age then and", "he's 7 and already reads", nil, []Category{Age}},
		{"age at end", "she's 16", nil, []Category{Age}},
		{"income", "makes $45 an hour", nil, []Category{Finance}},
		{"slur", "what a retard", nil, []Category{Health, Slur}},
		{"slur leet", "f4gg0t", nil, []Category{Sexuality, Slur}},
		{"appearance", "look at his huge nose", nil, []Category{Appearance}},
		{"politics", "MAGA hat", nil, []Category{Politics}},
		{"religion", "Friday prayers at the mosque", nil, []Category{Religion}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Check(tt.text, Options{Names: tt.names})
			if !slices.Equal(got.Categories, tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.text, got.Categories, tt.want)
			}
			if got.Allowed != (len(tt.want) == 0) {
				t.Errorf("Check(%q).Allowed = %v with categories %v", tt.text, got.Allowed, got.Categories)
			}
		})
	}
}

func TestLanguages(t *testing.T) {
	if got := shared(t).Languages(); !reflect.DeepEqual(got, []string{"en"}) {
		t.Errorf("Languages() = %v, want [en]", got)
	}
}

func TestVerdictString(t *testing.T) {
	if got := (Verdict{Allowed: true}).String(); got != "allowed" {
		t.Errorf("String() = %q", got)
	}
	v := Verdict{Categories: []Category{Age, Health}}
	if got := v.String(); got != "age,health" {
		t.Errorf("String() = %q", got)
	}
}

func TestCategoriesStable(t *testing.T) {
	want := "health religion ethnicity sexuality politics criminal finance age location identifier appearance slur"
	var got []string
	for _, c := range Categories() {
		got = append(got, string(c))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("Categories() = %v, want %s", got, want)
	}
}

// TestConcurrent runs Check from several goroutines on one Filter (run
// with -race to check that Check shares no mutable state).
func TestConcurrent(t *testing.T) {
	f := shared(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if v := f.Check("my d1abet1c friend in Paris", Options{Names: []string{"Ann Lee"}}); !slices.Equal(v.Categories, []Category{Health, Location}) {
					t.Errorf("Check = %v", v)
					return
				}
			}
		}()
	}
	wg.Wait()
	g, err := New()
	if err != nil || g.lex != f.lex {
		t.Errorf("New() = %v, %v: want the shared lexicon", g, err)
	}
}

// TestDataProvenance checks that the generated data files say where they
// come from and under which licence.
func TestDataProvenance(t *testing.T) {
	for file, want := range map[string][]string{
		"data/places.tsv":      {"iso-codes 4.15.0-1", "LGPL-2.1+", "tzdata 2025b", "public domain", "wamerican", "tools/textfiltergen"},
		"data/confusables.tsv": {"python3-confusable-homoglyphs 3.2.0-2", "Unicode Data Files licence", "tools/textfiltergen"},
	} {
		b, err := dataFS.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var header strings.Builder
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "#") {
				header.WriteString(l + "\n")
			}
		}
		for _, w := range want {
			if !strings.Contains(header.String(), w) {
				t.Errorf("%s header lacks %q", file, w)
			}
		}
	}
}

// TestParseErrors feeds malformed lexicons: each must be refused with an
// error naming the problem, never loaded half-way.
func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ name, lex, want string }{
		{"unknown section", "[colour]\nred\n", "unknown section"},
		{"entry outside a section", "red\n", "outside a section"},
		{"unknown class in a phrase", "[health]\n@nosuch thing\n", "unknown class"},
		{"unknown class after the phrase", "[age]\nturned @num !@nosuch\n", "unknown class"},
		{"emoji without words", "[emoji]\n⛪\n", "emoji and its words"},
		{"phrase without words", "[health]\n--\n", "no words"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := newLexicon().parse([]byte(tt.lex), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse(%q) = %v, want an error with %q", tt.lex, err, tt.want)
			}
		})
	}
}
