// Package calibrate measures a face embedder on labelled photos and picks
// its operating points: it forms every genuine (same person) and impostor
// (different people) pair, computes the ROC, the equal error rate, the
// false non-match rate at given false-match rates and the accuracy at a
// threshold, and splits identities so that a threshold is always reported
// on people it was not chosen on. It also makes the degraded variants real
// photo libraries contain (greyscale, small faces, low JPEG quality,
// screenshot-like PNG), in process and deterministically.
//
// `obscura faces calibrate` runs it on a folder (one sub-folder per
// person); the faces package's tests run it on the photos the repository
// carries. Similarities are cosine similarities of unit embeddings; a pair
// matches when its similarity is at or above the threshold.
package calibrate

import (
	"math"
	"slices"
	"sort"
)

// Scores are the similarities of a set of genuine and impostor pairs.
type Scores struct {
	Genuine  []float64 `json:"-"`
	Impostor []float64 `json:"-"`
}

// Add appends another set's pairs.
func (s *Scores) Add(o Scores) {
	s.Genuine = append(s.Genuine, o.Genuine...)
	s.Impostor = append(s.Impostor, o.Impostor...)
}

// Rates are the error rates at one threshold.
type Rates struct {
	Threshold float64 `json:"threshold"`
	FMR       float64 `json:"fmr"`  // impostor pairs at or above the threshold
	FNMR      float64 `json:"fnmr"` // genuine pairs below it
	// Balanced is the balanced pair accuracy, 1 − (FMR + FNMR)/2.
	Balanced float64 `json:"balanced_accuracy"`
	// Accuracy is the share of all pairs classified correctly.
	Accuracy float64 `json:"accuracy"`
}

// At is the rates at threshold t.
func (s Scores) At(t float64) Rates {
	fm, fnm := 0, 0
	for _, v := range s.Impostor {
		if v >= t {
			fm++
		}
	}
	for _, v := range s.Genuine {
		if v < t {
			fnm++
		}
	}
	r := Rates{Threshold: t, FMR: ratio(fm, len(s.Impostor)), FNMR: ratio(fnm, len(s.Genuine))}
	r.Balanced = 1 - (r.FMR+r.FNMR)/2
	r.Accuracy = 1 - ratio(fm+fnm, len(s.Impostor)+len(s.Genuine))
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// candidates are the thresholds where a rate changes: every score, and
// one above the highest.
func (s Scores) candidates() []float64 {
	c := append(append([]float64{}, s.Genuine...), s.Impostor...)
	sort.Float64s(c)
	c = slices.Compact(c)
	if len(c) == 0 {
		return []float64{0}
	}
	return append(c, math.Nextafter(c[len(c)-1], math.Inf(1)))
}

// ThresholdForFMR is the lowest threshold whose false-match rate is at
// most fmr (the threshold that keeps the most genuine pairs within that
// false-match budget).
func (s Scores) ThresholdForFMR(fmr float64) float64 {
	imp := append([]float64{}, s.Impostor...)
	sort.Float64s(imp)
	n := len(imp)
	if n == 0 {
		return -1
	}
	// At most k impostors may reach the threshold.
	k := int(math.Floor(fmr * float64(n)))
	if k >= n {
		return imp[0]
	}
	// The threshold must lie above the (n−k)-th smallest impostor score.
	return math.Nextafter(imp[n-k-1], math.Inf(1))
}

// FNMRAtFMR is the false non-match rate at the threshold ThresholdForFMR.
func (s Scores) FNMRAtFMR(fmr float64) Rates { return s.At(s.ThresholdForFMR(fmr)) }

// EER is the equal error rate: the rates at the threshold where FMR and
// FNMR are closest, reported as their mean.
func (s Scores) EER() (eer float64, at Rates) {
	best := math.Inf(1)
	for _, t := range s.candidates() {
		r := s.At(t)
		if d := math.Abs(r.FMR - r.FNMR); d < best {
			best, at = d, r
		}
	}
	return (at.FMR + at.FNMR) / 2, at
}

// Best is the rates at the threshold of highest balanced accuracy.
func (s Scores) Best() Rates {
	var best Rates
	for _, t := range s.candidates() {
		if r := s.At(t); r.Balanced > best.Balanced {
			best = r
		}
	}
	return best
}

// ROC is the rates at n thresholds evenly spaced from the lowest to the
// highest score (n ≥ 2).
func (s Scores) ROC(n int) []Rates {
	c := s.candidates()
	lo, hi := c[0], c[len(c)-1]
	out := make([]Rates, 0, n)
	for i := range n {
		out = append(out, s.At(lo+(hi-lo)*float64(i)/float64(n-1)))
	}
	return out
}

// Similarity is the cosine similarity of two unit vectors.
func Similarity(a, b []float32) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
