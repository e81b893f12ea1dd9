package main

import "testing"

// Two lines of WordNet 3.1's data.noun (menorah and its topic, Judaism)
// and a made-up adjective pertaining to menorah.
const (
	wnMenorah = "03751496 06 n 01 menorah 0 002 @ 02951254 n 0000 ;c 06243034 n 0000 | (Judaism) a candelabrum with nine branches"
	wnJudaism = "06243034 09 n 02 Judaism 0 Jewish_religion 0 001 -c 03751496 n 0000 | the monotheistic religion of the Jews"
	wnAdj     = "00000001 00 a 01 menorahic 0 001 \\ 03751496 n 0101 | of a menorah"
)

func TestWordNetDerivation(t *testing.T) {
	wn := &wordNet{syn: map[string]*wnSynset{}, index: map[string][]string{}, senses: map[string][]string{}}
	for _, l := range []struct{ line, pos string }{{wnMenorah, "n"}, {wnJudaism, "n"}, {wnAdj, "a"}} {
		if err := wn.addSynset(l.line, l.pos); err != nil {
			t.Fatal(err)
		}
	}
	wn.index["judaism.n"] = []string{"06243034n"}
	wn.senses["menorah"] = []string{"03751496n"}
	wn.senses["menorahic"] = []string{"00000001a"}
	wn.senses["judaism"] = []string{"06243034n", "99999999n"} // a second sense outside the category
	set, err := wn.categorySynsets(wnCategory{code: "religion", topics: []wnSeed{"judaism.n.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !set["03751496n"] || !set["00000001a"] || set["06243034n"] {
		t.Errorf("topic members and pertainyms: got %v", set)
	}
	if !wn.dominant("menorah", set) || wn.dominant("judaism", set) {
		t.Error("dominant: want menorah (its only sense) and not judaism (a sense outside)")
	}
	if _, err := wn.resolve("judaism.n.2"); err == nil {
		t.Error("resolve accepted a sense that does not exist")
	}
	if err := wn.addSynset("00000002 00 n 05 x 0", "n"); err == nil {
		t.Error("addSynset accepted a truncated line")
	}
	if got := lemmaText("transsexual(a)"); got != "transsexual" {
		t.Errorf("lemmaText = %q", got)
	}
	if got := lemmaText("sick_person"); got != "sick person" {
		t.Errorf("lemmaText = %q", got)
	}
}
