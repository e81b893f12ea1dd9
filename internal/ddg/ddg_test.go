package ddg

import (
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSeeded(s string) seeded { return seeded{rand.NewChaCha8(sha256.Sum256([]byte(s)))} }

// roundedGauss is a test double for the exact sampler: a rounded continuous
// Gaussian of the same variance (close enough for sums and norms; the exact
// sampler is internal/dp's and has its own tests).
func roundedGauss(r io.Reader, s2 *big.Rat) (int64, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	f, _ := s2.Float64()
	return int64(math.Round(rand.New(rand.NewChaCha8(b)).NormFloat64() * math.Sqrt(f))), nil
}

var testParams = Params{Clip: 1, Gamma: 1.0 / 512, Sigma2: 64, Bits: 24, Beta: math.Exp(-0.5)}

// TestSumDecodes: the modular sum of n encodings decodes to the sum of the
// clipped inputs within the noise and rounding error the parameters imply.
func TestSumDecodes(t *testing.T) {
	const n, d = 10, 2000
	r := newSeeded("sum")
	inputs := make([][]float64, n)
	sum := make([]uint64, d)
	want := make([]float64, d)
	for range inputs {
		x := make([]float64, d)
		var norm float64
		for i := range x {
			x[i] = float64(r.r.Uint64()%1000)/1000 - 0.5
			norm += x[i] * x[i]
		}
		norm = math.Sqrt(norm)
		enc, err := testParams.Encode(r, x, roundedGauss)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			want[i] += x[i] * math.Min(1, testParams.Clip/norm)
			sum[i] = (sum[i] + enc[i]) & (1<<testParams.Bits - 1)
		}
	}
	got := testParams.Decode(sum)
	var mse float64
	for i := range got {
		e := got[i] - want[i]
		mse += e * e
	}
	mse /= d
	// Expected per-coordinate variance: noise nσ²γ² plus rounding ≤ nγ²/4.
	g2 := testParams.Gamma * testParams.Gamma
	expect := n*testParams.Sigma2*g2 + n*g2/4
	if mse > 1.2*expect || mse < 0.8*n*testParams.Sigma2*g2 {
		t.Fatalf("mean squared error %.3g, want about %.3g", mse, expect)
	}
	if w := testParams.Wraps(n); w >= 1 {
		t.Fatalf("parameters wrap: %g", w)
	}
}

// TestClipAndBound: a long vector is clipped; every rounded vector is within
// NormBound; bad input and parameters are refused.
func TestClipAndBound(t *testing.T) {
	p := testParams
	p.Sigma2 = 0.5
	x := make([]float64, 100)
	for i := range x {
		x[i] = 3
	}
	enc, err := p.Encode(newSeeded("clip"), x, func(io.Reader, *big.Rat) (int64, error) { return 0, nil })
	if err != nil {
		t.Fatal(err)
	}
	var n2 float64
	for _, v := range p.Decode(enc) {
		n2 += v * v
	}
	if got := math.Sqrt(n2); math.Abs(got-1) > 0.01 {
		t.Fatalf("clipped norm %.4f, want 1", got)
	}
	if _, err := p.Encode(newSeeded("nan"), []float64{math.NaN()}, roundedGauss); !errors.Is(err, ErrParams) {
		t.Fatalf("NaN accepted: %v", err)
	}
	for _, bad := range []Params{{}, {Clip: 1, Gamma: 1, Sigma2: 0.1, Bits: 16, Beta: 0.5}, {Clip: 1, Gamma: 1, Sigma2: 1, Bits: 63, Beta: 0.5}} {
		if err := bad.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestRho: for large σ² (τ ≈ 0) ρ is Δ₂²/(2nσ²); more clients or more noise
// lower it; the (ε, δ) conversion matches a hand computation.
func TestRho(t *testing.T) {
	p := testParams
	d := 1000
	b := p.NormBound(d)
	want := b * b / (2 * 10 * p.Sigma2)
	if got := p.Rho(10, d); math.Abs(got-want)/want > 1e-9 {
		t.Fatalf("ρ = %g, want %g", got, want)
	}
	if p.Rho(20, d) >= p.Rho(10, d) {
		t.Fatal("more clients did not lower ρ")
	}
	// Small σ²: τ matters and ρ exceeds the large-σ² formula.
	q := p
	q.Sigma2 = 0.5
	bq := q.NormBound(d)
	if q.Rho(10, d) <= bq*bq/(2*10*q.Sigma2) {
		t.Fatal("τ term missing for small σ²")
	}
	// ε = 0.5 + 2√(0.5·ln 1e5) = 5.298...
	if e := Epsilon(0.5, 1e-5); math.Abs(e-5.29852) > 1e-4 {
		t.Fatalf("ε = %g", e)
	}
}
