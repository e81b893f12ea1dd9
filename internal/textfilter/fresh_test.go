package textfilter

import (
	"flag"
	"testing"
)

// listFresh2 lists fresh2.tsv's misses (go test -v -run TestFresh2 -args
// -textfilter.fresh2misses); off by default since the third round (fresh2 is
// seen from then on, fresh3.tsv is the unseen check).
var listFresh2 = flag.Bool("textfilter.fresh2misses", false, "list fresh2.tsv misses")

// TestFresh re-measures the filter on fresh.tsv, an evaluation set a second
// engineer wrote before reading the lexicons (docs/textfilter.md), with the
// held-out targets. It was seen during one fix round, so it is no longer
// held-out; fresh2.tsv is the remaining unseen check.
func TestFresh(t *testing.T) {
	f := newFilter(t)
	for _, s := range measure(f, readCorpus(t, "testdata/fresh.tsv")).misses {
		t.Logf("miss: fresh.tsv:%d %s %q → %s", s.line, s.label, s.text, f.Check(s.text, Options{Names: s.names}))
	}
	checkTargets(t, "testdata/fresh.tsv", 30, 150)
}

// TestFresh2 re-measures the filter on fresh2.tsv, written in the same sitting
// as fresh.tsv and never looked at while fixing. Only the figures are
// printed, never the lines, so fixes cannot drift towards them. With ten
// lines a category one miss is 90 %, below what the set can resolve against
// a 95 % target, so the figures are reported (docs/textfilter.md) rather than
// enforced; the test fails only when the set shrinks.
func TestFresh2(t *testing.T) {
	f := newFilter(t)
	sc := measure(f, readCorpus(t, "testdata/fresh2.tsv"))
	t.Logf("testdata/fresh2.tsv (reported, not enforced):\n%s", sc.report())
	if *listFresh2 {
		for _, s := range sc.misses {
			t.Logf("miss: fresh2.tsv:%d %s %q → %s", s.line, s.label, s.text, f.Check(s.text, Options{Names: s.names}))
		}
	}
	for _, c := range Categories() {
		if n := sc.total[string(c)]; n < 10 {
			t.Errorf("fresh2.tsv has %d %s lines, want at least 10", n, c)
		}
	}
	if n := sc.total["benign"]; n < 60 {
		t.Errorf("fresh2.tsv has %d benign lines, want at least 60", n)
	}
}

// TestFresh3 re-measures fresh3.tsv, the unseen check of the third round.
// The fourth round studied its misses, so it is seen now and carries the
// held-out targets, like fresh.tsv (docs/textfilter.md).
func TestFresh3(t *testing.T) {
	checkTargets(t, "testdata/fresh3.tsv", 12, 80)
}

// checkTargets measures one corpus part and fails below recall minRecall in
// any category, above maxFalseRefusal, or when the part is smaller than
// minPer sensitive lines per category or minBenign benign lines.
func checkTargets(t *testing.T, path string, minPer, minBenign int) {
	t.Helper()
	f := newFilter(t)
	sc := measure(f, readCorpus(t, path))
	t.Logf("%s:\n%s", path, sc.report())
	for _, c := range Categories() {
		k := string(c)
		if sc.total[k] < minPer {
			t.Errorf("%s has %d %s lines, want at least %d", path, sc.total[k], k, minPer)
		}
		if r := pct(sc.hit[k], sc.total[k]); r < minRecall {
			t.Errorf("%s recall for %s = %.1f%%, want ≥ %.0f%%", path, k, r, minRecall)
		}
	}
	if sc.total["benign"] < minBenign {
		t.Errorf("%s has %d benign lines, want at least %d", path, sc.total["benign"], minBenign)
	}
	if r := pct(sc.hit["benign"], sc.total["benign"]); r > maxFalseRefusal {
		t.Errorf("%s false refusals = %.1f%%, want ≤ %.0f%%", path, r, maxFalseRefusal)
	}
}

// TestSecondRoundRules pins the rules the fix round after the fresh set
// added, with the benign texts next to them that must stay allowed.
func TestSecondRoundRules(t *testing.T) {
	f := newFilter(t)
	cases := []ruleCase{
		{"call one eight hundred five five five two", Identifier},
		{"one two three go", ""},
		{"dob: 04/05/1990", Identifier},
		{"my @ is jo.bakes", Identifier},
		{"zip 10001", Location},
		{"zipped 10001 files", ""},
		{"40°26′46″N 79°58′56″W", Location},
		{"check linktr.ee/someone", Identifier},
		{"on 42nd Street", Location},
		{"my aunt became a n u n", Religion},
		{"i s a w it", ""},
		{"the twins are 3 months old", Age},
		{"built like a tank this car", ""},
		{"he is built like a wardrobe", Appearance},
		{"I lent him a pen", ""},
		{"gave up chocolate for Lent", Religion},
		{"what a religious experience this pizza is", ""},
	}
	checkRules(t, f, cases)
}

// TestThirdRoundRules pins the concept rules of the third round (word
// families, non-person subjects, residence cues, ordinal counts), each next
// to a benign text that must stay allowed.
func TestThirdRoundRules(t *testing.T) {
	f := newFilter(t)
	cases := []ruleCase{
		{"he's dating a guy from work", Sexuality},
		{"she married a man from work", ""},
		{"his husband cooked", Sexuality},
		{"his wife cooked", ""},
		{"my plants need therapy", ""},
		{"my sister needs therapy", Health},
		{"the cat is on trial for the vase", ""},
		{"my uncle is on trial for fraud", Criminal},
		{"the bridge is 100 years old", ""},
		{"my son is 10 years old", Age},
		{"the dog is obese", ""},
		{"the dog is fine but he is obese", Health},
		{"our 25th anniversary dinner", ""},
		{"grandma's 90th!", Age},
		{"living on 900 a month", Finance},
		{"two coffees a day", ""},
		{"moved to Boulder last year", Location},
		{"moved to tears by this cake", ""},
		{"Me Living In Fear Of Monday", ""},
		{"she's a senator now", Politics},
		{"he woke up late", ""},
		{"rich daddy paid", Finance},
		{"rich chocolate cake", ""},
		{"addicted to this show", ""},
		{"addicted to heroin", Health},
		{"his forehead is a billboard", Appearance},
		{"Mexican train dominoes", ""},
		{"Roma kids playing", Ethnicity},
	}
	checkRules(t, f, cases)
}

// TestFourthRoundRules pins the concept rules of the fourth round (GeoNames
// towns, named places read from capitals, stated heights, thing
// possessives, group slurs, the new vocabularies), each next to a benign
// text that must stay allowed.
func TestFourthRoundRules(t *testing.T) {
	f := newFilter(t)
	cases := []ruleCase{
		{"at the Walmart in Tulsa", Location},
		{"me and Austin after the game", ""},
		{"moved to Austin last year", Location},
		{"Austin, TX", Location},
		{"Austin or me, pick one", ""},
		{"he's staying at the Marriott", Location},
		{"laughing at the Kardashians", ""},
		{"watching Netflix at the weekend", ""},
		{"our neighbours in Oak Park", Location},
		{"Park Avenue sneakers", ""},
		{"Jurassic Park theme on kazoo", ""},
		{"Best Day At The Beach Park Ever", ""},
		{"caught him on 5th and Main", Location},
		{"on Tom and Jerry reruns", ""},
		{"corner of Elm and Maple", Location},
		{"corner of the couch is mine", ""},
		{"staying at the inn, room 512", Location},
		{"room 404 not found", ""},
		{"apt 4B, 1200 Oak St", Location},
		{"meet at the diner on Route 9", Location},
		{"route to the fridge", ""},
		{"he lives two blocks from the school", Location},
		{"my plant lives near the window", ""},
		{"she's in the Mission district", Location},
		{"he's like 5'2", Appearance},
		{"stay like 6 feet apart", ""},
		{"she's a giant, 6 foot 3", Appearance},
		{"5 foot long sub", ""},
		{"my brother's weight loss journey", Health},
		{"my dog's weight loss journey", ""},
		{"he's broke and can't pay rent", Finance},
		{"I'm broke after this weekend", ""},
		{"homo alert in the front row", Sexuality},
		{"she's pan", Sexuality},
		{"a pan of brownies", ""},
		{"she came out to her parents", Sexuality},
		{"the cookies came out great", ""},
		{"her accent is so thick", Ethnicity},
		{"accent wall done", ""},
		{"her family is from Nigeria", Ethnicity},
		{"after his second stroke", Health},
		{"stroke of luck", ""},
		{"he's been 6 months clean", Health},
		{"30 days clean eating", ""},
		{"he's a junkie", Health},
		{"chocolate junkie", ""},
		{"he's Native American", Ethnicity},
		{"native plants in the garden", ""},
	}
	checkRules(t, f, cases)
}

// ruleCase is a text and the category it must be refused for ("" = allowed).
type ruleCase struct {
	text string
	want Category
}

// checkRules checks each case: allowed when want is "", else refused with want among the categories.
func checkRules(t *testing.T, f *Filter, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		v := f.Check(c.text, Options{})
		got := false
		for _, g := range v.Categories {
			got = got || g == c.want
		}
		if c.want == "" && !v.Allowed || c.want != "" && !got {
			t.Errorf("Check(%q) = %s, want %q", c.text, v, c.want)
		}
	}
}

// TestFresh4 measures fresh4.tsv, written after the fourth round's first
// fixes and measured once before its lines were looked at; its misses were
// then studied, so it is seen now (docs/textfilter.md keeps both figures).
// Only the figures are printed and only its size is enforced: with ten lines
// a category one miss is 90 %, and the lead's unseen sets are the check that
// counts.
func TestFresh4(t *testing.T) {
	f := newFilter(t)
	sc := measure(f, readCorpus(t, "testdata/fresh4.tsv"))
	t.Logf("testdata/fresh4.tsv (not tuned on):\n%s", sc.report())
	for _, c := range Categories() {
		if n := sc.total[string(c)]; n < 10 {
			t.Errorf("fresh4.tsv has %d %s lines, want at least 10", n, c)
		}
	}
	if n := sc.total["benign"]; n < 60 {
		t.Errorf("fresh4.tsv has %d benign lines, want at least 60", n)
	}
}

// TestFresh5 measures fresh5.tsv, written after the fresh4 fixes of the
// fourth round and measured once before its lines were looked at; its
// misses were then studied too. Figures only, size enforced
// (docs/textfilter.md).
func TestFresh5(t *testing.T) {
	f := newFilter(t)
	sc := measure(f, readCorpus(t, "testdata/fresh5.tsv"))
	t.Logf("testdata/fresh5.tsv (not tuned on):\n%s", sc.report())
	for _, c := range Categories() {
		if n := sc.total[string(c)]; n < 8 {
			t.Errorf("fresh5.tsv has %d %s lines, want at least 8", n, c)
		}
	}
	if n := sc.total["benign"]; n < 50 {
		t.Errorf("fresh5.tsv has %d benign lines, want at least 50", n)
	}
}

// TestIndependentSets measures the six sets independent writers wrote
// without reading the filter or its corpora (testdata/independent1.tsv:
// short, direct captions; independent2.tsv: longer, indirect phrasings;
// independent3.tsv: short social captions; independent4.tsv: longer
// comments, regional and non-native English). Each was unseen until a
// round ended: the fifth round studied 1 and 2, the sixth round (session
// 9) studied 3 and 4, so all four are tuning data now and their figures
// say nothing about unseen text. independent5.tsv (family albums and
// group chats) and independent6.tsv (comment-section replies), written in
// session 9 and measured once after the sixth round, are the unseen ones:
// the generalisation measurement
// (docs/textfilter.md). The test prints the figures every run and fails on
// a regression below the tuned figures (pooled recall, false refusals):
// the floors are regression guards, not a generalisation claim.
func TestIndependentSets(t *testing.T) {
	f := newFilter(t)
	for _, c := range []struct {
		path            string
		minPooled       float64 // percent of sensitive lines caught in their own category
		maxFalseRefusal float64 // percent of benign lines refused
	}{
		{"testdata/independent1.tsv", 97.0, 1.0},
		{"testdata/independent2.tsv", 98.0, 5.0},
		{"testdata/independent3.tsv", 94.5, 3.5},
		{"testdata/independent4.tsv", 93.5, 6.0},
		// Unseen: written in session 9, measured once after the sixth round
		// ended (pooled 87.1% / 87.9%, false refusals 4.1% / 6.7%); never tuned on.
		{"testdata/independent5.tsv", 87.0, 4.5},
		{"testdata/independent6.tsv", 87.5, 7.0},
	} {
		sc := measure(f, readCorpus(t, c.path))
		t.Logf("%s (independent writer):\n%s", c.path, sc.report())
		hit, total := 0, 0
		for _, k := range Categories() {
			hit += sc.hit[string(k)]
			total += sc.total[string(k)]
		}
		if total < 12*15 {
			t.Errorf("%s has %d sensitive lines, want at least 180", c.path, total)
		}
		if r := pct(hit, total); r < c.minPooled {
			t.Errorf("%s pooled recall = %.1f%%, below the measured floor %.1f%%", c.path, r, c.minPooled)
		}
		if r := pct(sc.hit["benign"], sc.total["benign"]); r > c.maxFalseRefusal {
			t.Errorf("%s false refusals = %.1f%%, above the measured ceiling %.1f%%", c.path, r, c.maxFalseRefusal)
		}
	}
}
