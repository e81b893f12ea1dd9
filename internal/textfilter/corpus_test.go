package textfilter

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// sample is one labelled corpus line.
type sample struct {
	label string // a category code or "benign"
	text  string
	names []string
	line  int
}

func readCorpus(t testing.TB, path string) []sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) < 2 || len(fs) > 3 {
			t.Fatalf("%s:%d: want label<TAB>text[<TAB>names=...], got %q", path, n, line)
		}
		s := sample{label: fs[0], text: fs[1], line: n}
		if len(fs) == 3 {
			v, ok := strings.CutPrefix(fs[2], "names=")
			if !ok {
				t.Fatalf("%s:%d: third field must be names=...", path, n)
			}
			s.names = strings.Split(v, ";")
		}
		if s.label != "benign" && !validSection(s.label) {
			t.Fatalf("%s:%d: unknown label %q", path, n, s.label)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// score is the measurement on one corpus part.
type score struct {
	hit, total map[string]int // per label: caught (benign: refused) / lines
	misses     []sample       // sensitive lines not caught, benign lines refused
}

func measure(f *Filter, corpus []sample) score {
	sc := score{hit: map[string]int{}, total: map[string]int{}}
	for _, s := range corpus {
		v := f.Check(s.text, Options{Names: s.names})
		sc.total[s.label]++
		ok := false
		if s.label == "benign" {
			ok = !v.Allowed
		} else {
			for _, c := range v.Categories {
				ok = ok || string(c) == s.label
			}
		}
		if ok {
			sc.hit[s.label]++
		}
		if ok == (s.label == "benign") {
			sc.misses = append(sc.misses, s)
		}
	}
	return sc
}

func (sc score) report() string {
	var b strings.Builder
	for _, c := range Categories() {
		k := string(c)
		fmt.Fprintf(&b, "  %-10s recall %5.1f%% (%d/%d)\n", k, pct(sc.hit[k], sc.total[k]), sc.hit[k], sc.total[k])
	}
	fmt.Fprintf(&b, "  benign     false refusals %4.1f%% (%d/%d)", pct(sc.hit["benign"], sc.total["benign"]), sc.hit["benign"], sc.total["benign"])
	return b.String()
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// Targets on the held-out part (issue 19 item 3).
const (
	minRecall       = 95.0 // per category, percent
	maxFalseRefusal = 5.0  // percent of benign lines
)

// TestHeldOut re-measures the filter on the held-out part, which no tuning
// has looked at, and fails below the targets. Only the figures are printed,
// never the lines, so tuning cannot drift towards them.
func TestHeldOut(t *testing.T) {
	f := newFilter(t)
	sc := measure(f, readCorpus(t, "testdata/heldout.tsv"))
	t.Logf("held-out part:\n%s", sc.report())
	for _, c := range Categories() {
		k := string(c)
		if sc.total[k] < 25 {
			t.Errorf("held-out part has %d %s lines, want at least 25", sc.total[k], k)
		}
		if r := pct(sc.hit[k], sc.total[k]); r < minRecall {
			t.Errorf("held-out recall for %s = %.1f%%, want ≥ %.0f%%", k, r, minRecall)
		}
	}
	if r := pct(sc.hit["benign"], sc.total["benign"]); r > maxFalseRefusal {
		t.Errorf("held-out false refusals = %.1f%%, want ≤ %.0f%%", r, maxFalseRefusal)
	}
}

// TestTuning measures the tuning part and lists its misses (with -v); it
// fails only when the corpus is below the size the issue asks for.
func TestTuning(t *testing.T) {
	f := newFilter(t)
	tuning := readCorpus(t, "testdata/tuning.tsv")
	sc := measure(f, tuning)
	t.Logf("tuning part:\n%s", sc.report())
	for _, s := range sc.misses {
		t.Logf("miss: tuning.tsv:%d %s %q → %s", s.line, s.label, s.text, f.Check(s.text, Options{Names: s.names}))
	}
	all := append(readCorpus(t, "testdata/heldout.tsv"), tuning...)
	if len(all) < 600 {
		t.Errorf("corpus has %d lines, want at least 600", len(all))
	}
	count := map[string]int{}
	for _, s := range all {
		count[s.label]++
	}
	for _, c := range Categories() {
		if count[string(c)] < 50 {
			t.Errorf("corpus has %d %s lines, want at least 50", count[string(c)], c)
		}
	}
	if count["benign"] < 250 {
		t.Errorf("corpus has %d benign lines, want at least 250", count["benign"])
	}
}

func newFilter(t testing.TB) *Filter {
	t.Helper()
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
