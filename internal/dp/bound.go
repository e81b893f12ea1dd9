package dp

import (
	"io"
	"math"
	"math/big"
	"slices"
	"strings"
)

// Contribution is one privacy unit's (one subject's) value for one
// partition (key) before bounding.
type Contribution struct {
	Subject string
	Key     string
	Value   int64
}

// Bounds are per-subject contribution bounds, after the contribution
// bounding of Google's differential-privacy library ("Differential Privacy
// Library: Contribution bounding", github.com/google/differential-privacy
// docs, and Wilson et al., "Differentially Private SQL with Bounded User
// Contribution", PoPETs 2020): a subject contributes to at most L0
// partitions (chosen uniformly at random among theirs when they have more)
// and at most LInf to each (values are clamped to [0, LInf]).
type Bounds struct {
	L0   int
	LInf int64
}

// L1 is the L1 sensitivity of a sum histogram under the bounds: adding or
// removing one subject changes the histogram by at most L0·LInf in L1 norm.
func (b Bounds) L1() int64 { return int64(b.L0) * b.LInf }

// Bound applies b to contributions and returns the per-key sums. Several
// contributions of one subject to one key are summed before clamping; the
// partitions a subject keeps are chosen with randomness from r (an
// unbiased shuffle), so which ones survive reveals nothing beyond the
// random choice.
func Bound(r io.Reader, cs []Contribution, b Bounds) (map[string]int64, error) {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(x, y Contribution) int {
		if c := strings.Compare(x.Subject, y.Subject); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	out := map[string]int64{}
	src := newSource(r)
	var keys []Contribution // one subject's keys with summed values, by key
	flush := func() error {
		if len(keys) > b.L0 {
			// Keys are sorted, so the choice depends only on the
			// randomness: a partial Fisher–Yates shuffle picks L0 of
			// them uniformly.
			for i := 0; i < b.L0; i++ {
				j, err := src.uniform64(uint64(len(keys) - i))
				if err != nil {
					return err
				}
				keys[i], keys[i+int(j)] = keys[i+int(j)], keys[i]
			}
			keys = keys[:b.L0]
		}
		for _, k := range keys {
			out[k.Key] += max(0, min(k.Value, b.LInf))
		}
		keys = keys[:0]
		return nil
	}
	for i, c := range sorted {
		if i > 0 && c.Subject != sorted[i-1].Subject {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if n := len(keys); n > 0 && keys[n-1].Key == c.Key {
			keys[n-1].Value += c.Value
			continue
		}
		keys = append(keys, c)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Noisy is one released value: the true sum plus discrete Laplace noise,
// and the interval that holds the true sum with the stated confidence.
type Noisy struct {
	Key      string
	Value    int64
	Interval [2]int64
}

// LaplaceScale is the scale t = Δ/ε of the discrete Laplace that makes a
// sum of L1 sensitivity delta ε-DP, with ε = epsMilli/1000 exactly.
func LaplaceScale(delta int64, epsMilli int64) *big.Rat {
	return big.NewRat(delta*1000, epsMilli)
}

// LaplaceHalfWidth is the smallest k with P(|X| ≤ k) ≥ conf for X from the
// discrete Laplace with scale t, from the exact distribution:
// P(|X| > k) = 2·q^(k+1)/(1+q), q = exp(−1/t). (Computed in floating
// point: it describes the noise and draws none of it.)
func LaplaceHalfWidth(t *big.Rat, conf float64) int64 {
	tf, _ := t.Float64()
	q := math.Exp(-1 / tf)
	// Solve 2·q^(k+1)/(1+q) ≤ 1−conf for the least integer k ≥ 0.
	k := math.Log((1-conf)*(1+q)/2)/math.Log(q) - 1
	kk := int64(math.Ceil(k - 1e-9))
	if kk < 0 {
		kk = 0
	}
	for kk > 0 && 2*math.Pow(q, float64(kk))/(1+q) <= 1-conf {
		kk-- // guard against rounding up too far
	}
	return kk
}

// Release adds discrete Laplace noise of scale t to each sum of keys (every
// key is released, with 0 for those absent from sums: a closed
// vocabulary), clamps released values at 0 (post-processing), and attaches
// the conf interval. Keys are released in the order given.
func Release(r io.Reader, sums map[string]int64, keys []string, t *big.Rat, conf float64) ([]Noisy, error) {
	hw := LaplaceHalfWidth(t, conf)
	out := make([]Noisy, 0, len(keys))
	for _, k := range keys {
		x, err := DiscreteLaplace(r, t)
		if err != nil {
			return nil, err
		}
		out = append(out, noisy(k, sums[k]+x, hw))
	}
	return out, nil
}

func noisy(k string, v, hw int64) Noisy {
	lo, hi := v-hw, v+hw
	return Noisy{Key: k, Value: max(0, v), Interval: [2]int64{max(0, lo), max(0, hi)}}
}
