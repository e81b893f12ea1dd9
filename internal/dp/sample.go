// Package dp holds Obscura's differential-privacy mechanisms: exact samplers
// for the discrete Laplace and discrete Gaussian distributions, per-subject
// contribution bounding, partition selection for open-ended keys, and a
// zero-concentrated DP (zCDP) accountant.
//
// The samplers follow Canonne, Kamath and Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020, arXiv:2004.00010), Algorithms 1–3.
// They draw only uniform integers from an io.Reader (crypto/rand.Reader in
// production) and compare them with exact rationals (math/big): no floating
// point is involved in sampling, so the attack of Mironov, "On Significance
// of the Least Significant Bits for Differential Privacy" (CCS 2012), which
// exploits the gaps of floating-point Laplace samples, does not apply.
//
// What this package protects against: an observer of released aggregates
// learning much about any one subject, given the stated bounds. What it does
// not protect against: a caller that ignores the accountant, a broken
// random source, or timing side channels of the samplers (their running
// time depends on the sampled value; Obscura runs them server-side and
// releases only the final, aggregated answer).
package dp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/bits"
)

// ErrParam reports an invalid mechanism parameter (a scale or variance that
// is not strictly positive, or a nil random source).
var ErrParam = errors.New("dp: invalid parameter")

// ErrRange reports a sample that does not fit in an int64 (only possible
// for absurdly large scales).
var ErrRange = errors.New("dp: sample out of int64 range")

// DiscreteLaplace returns one sample x ∈ ℤ with P(x) ∝ exp(−|x|/t), exactly
// (Canonne-Kamath-Steinke 2020, Algorithm 2), reading randomness from r.
// t must be > 0.
func DiscreteLaplace(r io.Reader, t *big.Rat) (int64, error) {
	if r == nil || t == nil || t.Sign() <= 0 {
		return 0, ErrParam
	}
	s := newSource(r)
	return s.laplace(t.Num(), t.Denom())
}

// DiscreteGaussian returns one sample x ∈ ℤ with P(x) ∝ exp(−x²/(2σ²)),
// exactly (Canonne-Kamath-Steinke 2020, Algorithm 3), reading randomness
// from r. sigma2 (σ²) must be > 0.
func DiscreteGaussian(r io.Reader, sigma2 *big.Rat) (int64, error) {
	if r == nil || sigma2 == nil || sigma2.Sign() <= 0 {
		return 0, ErrParam
	}
	s := newSource(r)
	return s.gaussian(sigma2.Num(), sigma2.Denom())
}

// BernoulliExp returns true with probability exp(−γ), exactly
// (Canonne-Kamath-Steinke 2020, Algorithm 1). γ must be ≥ 0.
func BernoulliExp(r io.Reader, gamma *big.Rat) (bool, error) {
	if r == nil || gamma == nil || gamma.Sign() < 0 {
		return false, ErrParam
	}
	s := newSource(r)
	return s.bernoulliExp(gamma.Num(), gamma.Denom())
}

// source hands out uniform bits and integers from an io.Reader, reading
// eight bytes at a time. Unused bits are discarded with the source, at the
// end of one sampler call.
type source struct {
	r    io.Reader
	word uint64
	left uint
	buf  [8]byte
}

func newSource(r io.Reader) *source { return &source{r: r} }

func (s *source) refill() error {
	if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
		return fmt.Errorf("dp: read randomness: %w", err)
	}
	s.word, s.left = binary.LittleEndian.Uint64(s.buf[:]), 64
	return nil
}

// bits returns k ≤ 64 uniform bits.
func (s *source) bits(k uint) (uint64, error) {
	if k == 0 {
		return 0, nil
	}
	if s.left >= k {
		v := s.word & (1<<k - 1)
		if k == 64 {
			v = s.word
		}
		s.word >>= k % 64
		if k == 64 {
			s.word = 0
		}
		s.left -= k
		return v, nil
	}
	// Take what is left, then the rest from a fresh word.
	have, n := s.word, s.left
	if err := s.refill(); err != nil {
		return 0, err
	}
	rest, err := s.bits(k - n)
	if err != nil {
		return 0, err
	}
	return have | rest<<n, nil
}

// uniform64 returns a uniform integer in [0, n), n > 0, by rejection.
func (s *source) uniform64(n uint64) (uint64, error) {
	if n == 1 {
		return 0, nil
	}
	k := uint(bits.Len64(n - 1))
	for {
		v, err := s.bits(k)
		if err != nil {
			return 0, err
		}
		if v < n {
			return v, nil
		}
	}
}

// uniformBig returns a uniform integer in [0, n), n > 0, by rejection.
func (s *source) uniformBig(n *big.Int) (*big.Int, error) {
	if n.IsUint64() {
		v, err := s.uniform64(n.Uint64())
		return new(big.Int).SetUint64(v), err
	}
	max := new(big.Int).Sub(n, one)
	k := max.BitLen()
	words := make([]big.Word, (k+bits.UintSize-1)/bits.UintSize)
	v := new(big.Int)
	for {
		for i := range words {
			w, err := s.bits(bits.UintSize)
			if err != nil {
				return nil, err
			}
			words[i] = big.Word(w)
		}
		if extra := len(words)*bits.UintSize - k; extra > 0 {
			words[len(words)-1] &= big.Word(math.MaxUint >> uint(extra))
		}
		v.SetBits(words)
		if v.Cmp(n) < 0 {
			return new(big.Int).Set(v), nil
		}
	}
}

var one = big.NewInt(1)

// bernoulli returns true with probability num/den (0 ≤ num ≤ den, den > 0).
func (s *source) bernoulli(num, den *big.Int) (bool, error) {
	if num.IsUint64() && den.IsUint64() {
		v, err := s.uniform64(den.Uint64())
		return v < num.Uint64(), err
	}
	v, err := s.uniformBig(den)
	if err != nil {
		return false, err
	}
	return v.Cmp(num) < 0, nil
}

// bernoulliExp returns true with probability exp(−num/den), num ≥ 0,
// den > 0 (CKS 2020 Algorithm 1).
func (s *source) bernoulliExp(num, den *big.Int) (bool, error) {
	if num.IsUint64() && den.IsUint64() {
		return s.bernoulliExp64(num.Uint64(), den.Uint64())
	}
	if num.Cmp(den) <= 0 {
		return s.bernoulliExpUnit(num, den)
	}
	// γ > 1: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ−⌊γ⌋)).
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	for i := new(big.Int); i.Cmp(q) < 0; i.Add(i, one) {
		ok, err := s.bernoulliExp64(1, 1)
		if err != nil || !ok {
			return false, err
		}
	}
	return s.bernoulliExp(m, den)
}

// bernoulliExpUnit is Algorithm 1 for γ = num/den ∈ [0, 1]: count K while
// successive Bernoulli(γ/K) trials succeed; exp(−γ) = P(K is odd).
func (s *source) bernoulliExpUnit(num, den *big.Int) (bool, error) {
	k := int64(1)
	d := new(big.Int)
	for {
		d.Mul(den, big.NewInt(k))
		a, err := s.bernoulli(num, d)
		if err != nil {
			return false, err
		}
		if !a {
			break
		}
		k++
	}
	return k%2 == 1, nil
}

// bernoulliExp64 is bernoulliExp on machine words, falling back to
// math/big only if den·K overflows.
func (s *source) bernoulliExp64(num, den uint64) (bool, error) {
	for num > den {
		// One exp(−1) factor per whole unit of γ.
		ok, err := s.bernoulliExp64(1, 1)
		if err != nil || !ok {
			return false, err
		}
		num -= den
	}
	for k := uint64(1); ; k++ {
		hi, d := bits.Mul64(den, k)
		if hi != 0 {
			return s.bernoulliExpUnitFrom(new(big.Int).SetUint64(num), new(big.Int).SetUint64(den), k)
		}
		v, err := s.uniform64(d)
		if err != nil {
			return false, err
		}
		if v >= num { // Bernoulli(γ/k) failed
			return k%2 == 1, nil
		}
	}
}

// bernoulliExpUnitFrom continues Algorithm 1's loop at K = k in math/big.
func (s *source) bernoulliExpUnitFrom(num, den *big.Int, k uint64) (bool, error) {
	d := new(big.Int)
	kk := new(big.Int).SetUint64(k)
	for {
		d.Mul(den, kk)
		a, err := s.bernoulli(num, d)
		if err != nil {
			return false, err
		}
		if !a {
			return kk.Bit(0) == 1, nil
		}
		kk.Add(kk, one)
	}
}

// laplace is CKS 2020 Algorithm 2 with scale t/s (here num/den):
// P(x) ∝ exp(−|x|·den/num).
func (s *source) laplace(num, den *big.Int) (int64, error) {
	if num.IsUint64() && den.IsUint64() && num.Uint64() <= math.MaxInt64/4 {
		return s.laplace64(num.Uint64(), den.Uint64())
	}
	for {
		u, err := s.uniformBig(num)
		if err != nil {
			return 0, err
		}
		d, err := s.bernoulliExp(u, num)
		if err != nil {
			return 0, err
		}
		if !d {
			continue
		}
		v, err := s.geometricExp1()
		if err != nil {
			return 0, err
		}
		x := new(big.Int).Mul(num, new(big.Int).SetUint64(v))
		x.Add(x, u)
		y := x.Quo(x, den)
		b, err := s.bits(1)
		if err != nil {
			return 0, err
		}
		if b == 1 && y.Sign() == 0 {
			continue
		}
		if !y.IsInt64() {
			return 0, ErrRange
		}
		if b == 1 {
			return -y.Int64(), nil
		}
		return y.Int64(), nil
	}
}

// laplace64 is laplace on machine words.
func (s *source) laplace64(t, sd uint64) (int64, error) {
	for {
		u, err := s.uniform64(t)
		if err != nil {
			return 0, err
		}
		d, err := s.bernoulliExp64(u, t)
		if err != nil {
			return 0, err
		}
		if !d {
			continue
		}
		v, err := s.geometricExp1()
		if err != nil {
			return 0, err
		}
		hi, tv := bits.Mul64(t, v)
		x, carry := bits.Add64(tv, u, 0)
		if hi != 0 || carry != 0 {
			return 0, ErrRange
		}
		y := x / sd
		if y > math.MaxInt64 {
			return 0, ErrRange
		}
		b, err := s.bits(1)
		if err != nil {
			return 0, err
		}
		if b == 1 && y == 0 {
			continue
		}
		if b == 1 {
			return -int64(y), nil
		}
		return int64(y), nil
	}
}

// geometricExp1 returns V ≥ 0 with P(V = v) = (1 − e⁻¹)·e⁻ᵛ: the number of
// successes of Bernoulli(exp(−1)) before the first failure.
func (s *source) geometricExp1() (uint64, error) {
	var v uint64
	for {
		a, err := s.bernoulliExp64(1, 1)
		if err != nil {
			return 0, err
		}
		if !a {
			return v, nil
		}
		v++
	}
}

// gaussian is CKS 2020 Algorithm 3 for σ² = num/den: propose Y from the
// discrete Laplace with scale t = ⌊σ⌋+1, accept with probability
// exp(−(|Y| − σ²/t)²/(2σ²)).
func (s *source) gaussian(num, den *big.Int) (int64, error) {
	// ⌊σ⌋ = ⌊√⌊σ²⌋⌋.
	t := new(big.Int).Quo(num, den)
	t.Sqrt(t)
	t.Add(t, one)
	// γ = (|Y|·den·t − num)² / (2·num·den·t²)
	gden := new(big.Int).Mul(num, den)
	gden.Mul(gden, t)
	gden.Mul(gden, t)
	gden.Lsh(gden, 1)
	dt := new(big.Int).Mul(den, t)
	gnum := new(big.Int)
	for {
		y, err := s.laplace(t, one)
		if err != nil {
			return 0, err
		}
		ay := y
		if ay < 0 {
			ay = -ay
		}
		gnum.SetInt64(ay)
		gnum.Mul(gnum, dt)
		gnum.Sub(gnum, num)
		gnum.Mul(gnum, gnum)
		c, err := s.bernoulliExp(gnum, gden)
		if err != nil {
			return 0, err
		}
		if c {
			return y, nil
		}
	}
}
