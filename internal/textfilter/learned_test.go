package textfilter

import (
	"flag"
	"math"
	"sort"
	"strings"
	"testing"
)

var runLearned = flag.Bool("textfilter.learned", false, "run TestLearnedLOFO (a naive Bayes experiment; minutes: pass -timeout 30m)")

// nb is a multinomial naive Bayes model over a caption's features: its
// normalised words, word pairs, and the WordNet category of each word the
// derived lexicon lists (pruned entries included: the model weighs them).
type nb struct {
	classes []string
	prior   map[string]float64
	count   map[string]map[string]float64
	total   map[string]float64
	vocab   map[string]bool
}

func features(f *Filter, wn map[string]string, text string) []string {
	toks, _ := f.lex.words(f.lex.clean(text))
	var out []string
	for i, t := range toks {
		out = append(out, "w:"+t)
		if i > 0 {
			out = append(out, "b:"+toks[i-1]+"_"+t)
		}
		if c, ok := wn[t]; ok {
			out = append(out, "wn:"+c)
		}
		if c, ok := wn[strings.TrimSuffix(t, "s")]; ok {
			out = append(out, "wn:"+c)
		}
	}
	return out
}

func trainNB(f *Filter, wn map[string]string, corpus []sample) *nb {
	m := &nb{prior: map[string]float64{}, count: map[string]map[string]float64{}, total: map[string]float64{}, vocab: map[string]bool{}}
	for _, s := range corpus {
		if m.count[s.label] == nil {
			m.count[s.label] = map[string]float64{}
			m.classes = append(m.classes, s.label)
		}
		m.prior[s.label]++
		for _, ft := range features(f, wn, s.text) {
			m.count[s.label][ft]++
			m.total[s.label]++
			m.vocab[ft] = true
		}
	}
	sort.Strings(m.classes)
	return m
}

// posterior returns the class probabilities of a text.
func (m *nb) posterior(fts []string) map[string]float64 {
	logp := map[string]float64{}
	n := 0.0
	for _, c := range m.classes {
		n += m.prior[c]
	}
	best := math.Inf(-1)
	v := float64(len(m.vocab))
	for _, c := range m.classes {
		lp := math.Log(m.prior[c] / n)
		for _, ft := range fts {
			lp += math.Log((m.count[c][ft] + 1) / (m.total[c] + v))
		}
		logp[c] = lp
		best = math.Max(best, lp)
	}
	sum := 0.0
	for c, lp := range logp {
		logp[c] = math.Exp(lp - best)
		sum += logp[c]
	}
	for c := range logp {
		logp[c] /= sum
	}
	return logp
}

// combined measures lexicon ∪ classifier: a line also gets the
// classifier's best sensitive class when P(benign) < 1-tau.
func combined(f *Filter, m *nb, wn map[string]string, corpus []sample, tau float64) score {
	sc := score{hit: map[string]int{}, total: map[string]int{}}
	for _, s := range corpus {
		v := f.Check(s.text, Options{Names: s.names})
		cats := map[string]bool{}
		for _, c := range v.Categories {
			cats[string(c)] = true
		}
		p := m.posterior(features(f, wn, s.text))
		if 1-p["benign"] > tau {
			best, bp := "", -1.0
			for c, q := range p {
				if c != "benign" && q > bp {
					best, bp = c, q
				}
			}
			cats[best] = true
		}
		sc.total[s.label]++
		ok := false
		if s.label == "benign" {
			ok = len(cats) > 0
		} else {
			ok = cats[s.label]
		}
		if ok {
			sc.hit[s.label]++
		}
	}
	return sc
}

// wordnetWords maps each single-word entry of data/wordnet.txt to its
// category.
func wordnetWords(t testing.TB) map[string]string {
	raw, err := dataFS.ReadFile("data/wordnet.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sec := ""
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(l, "["):
			sec = strings.Trim(l, "[]")
		case l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(l, " "):
			out[l] = sec
		}
	}
	return out
}

// pooledAndFR returns pooled recall and the false-refusal rate.
func pooledAndFR(sc score) (float64, float64) {
	hit, total := 0, 0
	for _, c := range Categories() {
		hit += sc.hit[string(c)]
		total += sc.total[string(c)]
	}
	return pct(hit, total), pct(sc.hit["benign"], sc.total["benign"])
}

// TestLearnedLOFO trains the naive Bayes model on all corpus files but one,
// picks its threshold by an inner leave-one-file-out on those files (the
// highest recall whose false refusals stay within one point of the
// lexicon's), and measures lexicon ∪ model on the file left out.
func TestLearnedLOFO(t *testing.T) {
	if !*runLearned {
		t.Skip("run with -args -textfilter.learned")
	}
	f := newFilter(t)
	wn := wordnetWords(t)
	taus := []float64{0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999}
	var lex, comb []score
	for i, name := range corpusFiles {
		var rest []string
		rest = append(rest, corpusFiles[:i]...)
		rest = append(rest, corpusFiles[i+1:]...)
		// Inner leave-one-file-out over rest picks tau.
		bestTau, bestRecall := 1.0, -1.0
		for _, tau := range taus {
			hit, total, fr, frLex, nb := 0.0, 0.0, 0.0, 0.0, 0.0
			for j, inner := range rest {
				var train []string
				train = append(train, rest[:j]...)
				train = append(train, rest[j+1:]...)
				m := trainNB(f, wn, readFiles(t, train))
				held := readFiles(t, []string{inner})
				sc := combined(f, m, wn, held, tau)
				base := measure(f, held)
				for _, c := range Categories() {
					hit += float64(sc.hit[string(c)])
					total += float64(sc.total[string(c)])
				}
				fr += float64(sc.hit["benign"])
				frLex += float64(base.hit["benign"])
				nb += float64(sc.total["benign"])
			}
			if (fr-frLex)/nb <= 0.01 && hit/total > bestRecall {
				bestTau, bestRecall = tau, hit/total
			}
		}
		m := trainNB(f, wn, readFiles(t, rest))
		held := readFiles(t, []string{name})
		lex = append(lex, measure(f, held))
		comb = append(comb, combined(f, m, wn, held, bestTau))
		pl, fl := pooledAndFR(lex[i])
		pc, fc := pooledAndFR(comb[i])
		t.Logf("%-13s tau %.3f: lexicon %5.1f%% / %4.1f%%, lexicon+NB %5.1f%% / %4.1f%%", name, bestTau, pl, fl, pc, fc)
	}
	t.Logf("lexicon (shipped):\n%s", table(corpusFiles, lex))
	t.Logf("lexicon + naive Bayes, trained without the file:\n%s", table(corpusFiles, comb))
}
