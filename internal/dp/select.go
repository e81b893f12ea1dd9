package dp

import (
	"io"
	"math"
	"math/big"
	"sort"
)

// Partition selection for open-ended keys (feature names, meme templates,
// plugin names): a key is released only if its noisy count reaches a
// threshold τ, so a key that only one subject used appears with
// probability at most δ. This is the "Laplace thresholding" of Google's
// differential-privacy library ("Delta-for-thresholding" in its design
// documents; Korolova et al., "Releasing Search Queries and Clicks
// Privately", WWW 2009; Wilson et al., PoPETs 2020, §3), here with the
// discrete Laplace so that no floating point enters the sampling.
//
// Accounting: the noisy counts are ε-DP for the partitions the
// neighbouring datasets share; a partition only the added subject has
// appears with probability ≤ deltaPartition, and a subject touches at most
// L0 partitions, so the release is (ε, L0·deltaPartition)-DP.

// SelectThreshold returns the least τ such that a partition whose true sum
// is at most linf (one subject's bounded contribution) is released with
// probability ≤ deltaPartition when noise of scale t is added:
// P(linf + X ≥ τ) = P(X ≥ τ−linf) = q^(τ−linf)/(1+q), q = exp(−1/t), for
// τ−linf ≥ 1. (Floating point sizes the threshold; it draws no noise.)
func SelectThreshold(t *big.Rat, linf int64, deltaPartition float64) int64 {
	tf, _ := t.Float64()
	q := math.Exp(-1 / tf)
	k := int64(math.Ceil(math.Log(deltaPartition*(1+q)) / math.Log(q)))
	if k < 1 {
		k = 1
	}
	for math.Pow(q, float64(k))/(1+q) > deltaPartition {
		k++
	}
	return linf + k
}

// ReleaseSelected adds noise of scale t to every key of sums (only keys
// that someone contributed to exist) and releases, sorted by key, those
// whose noisy value reaches tau. Intervals are as in Release.
func ReleaseSelected(r io.Reader, sums map[string]int64, t *big.Rat, tau int64, conf float64) ([]Noisy, error) {
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hw := LaplaceHalfWidth(t, conf)
	var out []Noisy
	for _, k := range keys {
		x, err := DiscreteLaplace(r, t)
		if err != nil {
			return nil, err
		}
		if v := sums[k] + x; v >= tau {
			out = append(out, noisy(k, v, hw))
		}
	}
	return out, nil
}
