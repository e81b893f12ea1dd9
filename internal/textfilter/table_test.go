package textfilter

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

// corpusFiles are every labelled file in testdata, in the order the tables
// of docs/textfilter.md list them.
// listMisses names a corpus file whose misses TestListMisses lists.
var listMisses = flag.String("textfilter.misses", "", "list this testdata file's misses (e.g. independent2)")

var corpusFiles = []string{"tuning", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "independent1", "independent2", "independent3", "independent4"}

// table renders per-file, per-category figures: recall per category and
// the false-refusal rate, one row per file.
func table(rows []string, scores []score) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s", "file")
	for _, c := range Categories() {
		fmt.Fprintf(&b, " %6.6s", c)
	}
	fmt.Fprintf(&b, " %7s %7s\n", "pooled", "falseR")
	for i, r := range rows {
		sc := scores[i]
		fmt.Fprintf(&b, "%-13s", r)
		hit, total := 0, 0
		for _, c := range Categories() {
			k := string(c)
			hit += sc.hit[k]
			total += sc.total[k]
			fmt.Fprintf(&b, " %6.1f", pct(sc.hit[k], sc.total[k]))
		}
		fmt.Fprintf(&b, " %7.1f %6.1f%%\n", pct(hit, total), pct(sc.hit["benign"], sc.total["benign"]))
	}
	return b.String()
}

// TestCorpusTable prints the per-file, per-category table of the shipped
// filter (go test -v -run TestCorpusTable); every file's figures are also
// enforced by the test named for it.
func TestCorpusTable(t *testing.T) {
	f := newFilter(t)
	var scores []score
	for _, name := range corpusFiles {
		scores = append(scores, measure(f, readCorpus(t, "testdata/"+name+".tsv")))
	}
	t.Logf("shipped filter, recall %% per category and false refusals:\n%s", table(corpusFiles, scores))
}

// TestListMisses lists one file's misses with -textfilter.misses=NAME.
func TestListMisses(t *testing.T) {
	if *listMisses == "" {
		t.Skip("no -textfilter.misses file")
	}
	f := newFilter(t)
	for _, s := range measure(f, readCorpus(t, "testdata/"+*listMisses+".tsv")).misses {
		t.Logf("miss: %s:%d %s %q → %s %v", *listMisses, s.line, s.label, s.text, f.Check(s.text, Options{Names: s.names}), f.wordnetHits(s.text))
	}
}
