// Package ddg implements the distributed discrete Gaussian mechanism of
// Kairouz, Liu and Steinke, "The Distributed Discrete Gaussian Mechanism for
// Federated Learning with Secure Aggregation" (ICML 2021, arXiv:2102.06387):
// each client clips its real vector to an L2 bound, scales it by 1/γ, rounds
// it to integers with conditional randomized rounding (retried until the
// rounded norm is within a bound, so the sensitivity holds), adds its share
// of discrete Gaussian noise and wraps it into Z_{2^k}, ready for secure
// aggregation; the server decodes the modular sum, and the accountant gives
// the zCDP of the noisy sum (the paper's Theorem 1 for sums of discrete
// Gaussians).
//
// What it protects against: the server, seeing only the secure-aggregation
// sum, learns a ρ-zCDP function of any one client's (clipped) vector, with ρ
// from Rho. What it does not: noise is only as good as the clients that add
// it — the accountant counts the honest clients the caller tells it of; a
// client that skips its share lowers the noise (secure aggregation cannot
// see that). The optional random rotation of the paper is not implemented:
// vectors here are small and the modulus leaves headroom (Encoder.Wraps).
package ddg

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
)

// Sampler draws one exact discrete Gaussian sample of variance parameter
// sigma2 (internal/dp.DiscreteGaussian has this signature).
type Sampler func(r io.Reader, sigma2 *big.Rat) (int64, error)

// Params are one task's mechanism parameters; every client and the server
// use the same.
type Params struct {
	Clip   float64 // c: L2 bound of a client's real vector
	Gamma  float64 // γ: granularity; a real x is sent as about x/γ
	Sigma2 float64 // σ²: variance parameter of each client's noise share, in units of γ²
	Bits   uint8   // k: the ring is Z_{2^k}
	Beta   float64 // β: conditional rounding's failure bound (the paper uses e^{−1/2})
}

// ErrParams: the parameters are out of range.
var ErrParams = errors.New("ddg: parameters out of range")

// Validate checks the parameters.
func (p Params) Validate() error {
	if !(p.Clip > 0) || !(p.Gamma > 0) || !(p.Sigma2 >= 0.5) || p.Bits < 8 || p.Bits > 62 || !(p.Beta > 0 && p.Beta < 1) ||
		math.IsInf(p.Clip/p.Gamma, 0) {
		return fmt.Errorf("clip %g gamma %g sigma2 %g bits %d beta %g: %w", p.Clip, p.Gamma, p.Sigma2, p.Bits, p.Beta, ErrParams)
	}
	return nil
}

// NormBound is the L2 bound Δ₂ of a rounded, scaled vector of dimension d
// (the paper's conditional rounding bound, Section 4.1):
// min{ √(c² + d/4 + √(2 ln(1/β))·(c + √d/2)), c + √d } with c = Clip/γ.
func (p Params) NormBound(d int) float64 {
	c := p.Clip / p.Gamma
	fd := float64(d)
	a := c*c + fd/4 + math.Sqrt(2*math.Log(1/p.Beta))*(c+math.Sqrt(fd)/2)
	return math.Min(math.Sqrt(a), c+math.Sqrt(fd))
}

// maxTries bounds conditional rounding; with the bound above a try fails
// with probability at most β, so 64 tries all fail with probability β^64.
const maxTries = 64

// ErrRounding: conditional rounding found no rounding within the bound.
var ErrRounding = errors.New("ddg: conditional rounding failed")

// Encode clips x, scales, rounds, adds a noise share from sample and wraps
// into Z_{2^Bits}. rnd supplies the randomness of rounding and noise
// (crypto/rand in production).
func (p Params) Encode(rnd io.Reader, x []float64, sample Sampler) ([]uint64, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	d := len(x)
	var norm float64
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("ddg: non-finite input: %w", ErrParams)
		}
		norm += v * v
	}
	norm = math.Sqrt(norm)
	scale := 1 / p.Gamma
	if norm > p.Clip {
		scale *= p.Clip / norm
	}
	var seed [32]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("ddg: read randomness: %w", err)
	}
	coin := rand.New(rand.NewChaCha8(seed))
	bound := p.NormBound(d)
	z := make([]int64, d)
	ok := false
	for try := 0; try < maxTries && !ok; try++ {
		var n2 float64
		for i, v := range x {
			s := v * scale
			f := math.Floor(s)
			r := int64(f)
			if coin.Float64() < s-f {
				r++
			}
			z[i] = r
			n2 += float64(r) * float64(r)
		}
		ok = math.Sqrt(n2) <= bound
	}
	if !ok {
		return nil, ErrRounding
	}
	s2 := new(big.Rat)
	if s2.SetFloat64(p.Sigma2) == nil {
		return nil, ErrParams
	}
	mask := uint64(1)<<p.Bits - 1
	out := make([]uint64, d)
	for i := range z {
		e, err := sample(rnd, s2)
		if err != nil {
			return nil, fmt.Errorf("ddg: noise: %w", err)
		}
		out[i] = uint64(z[i]+e) & mask
	}
	return out, nil
}

// Decode maps a modular sum back to reals: each element is read as a signed
// integer in [−2^{k−1}, 2^{k−1}) and multiplied by γ.
func (p Params) Decode(sum []uint64) []float64 {
	out := make([]float64, len(sum))
	half := uint64(1) << (p.Bits - 1)
	mod := float64(uint64(1) << p.Bits)
	for i, v := range sum {
		f := float64(v)
		if v >= half {
			f -= mod
		}
		out[i] = f * p.Gamma
	}
	return out
}

// Wraps reports the worst-case magnitude, in ring units, of a sum of n
// clients' vectors (each coordinate at most Clip/γ + 1 before noise) plus
// noise of six standard deviations, as a fraction of 2^{k−1}: above 1 a
// coordinate may wrap around the modulus.
func (p Params) Wraps(n int) float64 {
	per := p.Clip/p.Gamma + 1
	noise := 6 * math.Sqrt(float64(n)*p.Sigma2)
	return (float64(n)*per + noise) / float64(uint64(1)<<(p.Bits-1))
}

// Rho is the zCDP parameter ρ = ε²/2 of one release of the sum of n honest
// clients' d-dimensional vectors, by Theorem 1 of Kairouz, Liu and Steinke
// (add/remove one client, Δ₂ = NormBound(d)):
//
//	ε = min{ √(Δ₂²/(nσ²) + τd/2), Δ₂/(√n σ) + τ√d },
//	τ = 10 · Σ_{k=1}^{n−1} exp(−2π²σ² · k/(k+1)).
func (p Params) Rho(n, d int) float64 {
	if n < 1 {
		return math.Inf(1)
	}
	s2 := p.Sigma2
	var tau float64
	for k := 1; k < n; k++ {
		tau += math.Exp(-2 * math.Pi * math.Pi * s2 * float64(k) / float64(k+1))
	}
	tau *= 10
	d2 := p.NormBound(d)
	fn, fd := float64(n), float64(d)
	e1 := math.Sqrt(d2*d2/(fn*s2) + tau*fd/2)
	e2 := d2/(math.Sqrt(fn*s2)) + tau*math.Sqrt(fd)
	e := math.Min(e1, e2)
	return e * e / 2
}

// Epsilon converts ρ-zCDP to (ε, δ)-DP: ε = ρ + 2√(ρ ln(1/δ)) (Bun and
// Steinke 2016, Proposition 1.3).
func Epsilon(rho, delta float64) float64 {
	return rho + 2*math.Sqrt(rho*math.Log(1/delta))
}
