package dp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// seeded returns a deterministic random source for reproducible tests.
func seeded(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

// laplacePMF is the exact pmf of the discrete Laplace with scale t.
func laplacePMF(t float64) func(int64) float64 {
	q := math.Exp(-1 / t)
	return func(x int64) float64 {
		return (1 - q) / (1 + q) * math.Pow(q, math.Abs(float64(x)))
	}
}

// gaussianPMF is the exact pmf of the discrete Gaussian with variance
// parameter σ², normalised over |x| ≤ 60σ+60 (the rest is below 1e-300).
func gaussianPMF(sigma2 float64) func(int64) float64 {
	bound := int64(60*math.Sqrt(sigma2) + 60)
	var z float64
	for x := -bound; x <= bound; x++ {
		z += math.Exp(-float64(x*x) / (2 * sigma2))
	}
	return func(x int64) float64 { return math.Exp(-float64(x*x)/(2*sigma2)) / z }
}

// chiSquare bins samples by value, merging the tails (expected count < 5
// per bin) into two bins, and returns the statistic and degrees of freedom.
func chiSquare(samples []int64, pmf func(int64) float64) (stat float64, df int) {
	n := float64(len(samples))
	counts := map[int64]int{}
	for _, x := range samples {
		counts[x]++
	}
	// The central range: every value whose expected count is ≥ 5.
	lo, hi := int64(0), int64(0)
	for n*pmf(lo-1) >= 5 {
		lo--
	}
	for n*pmf(hi+1) >= 5 {
		hi++
	}
	var expIn float64
	var obsLo, obsHi int
	for x, c := range counts {
		switch {
		case x < lo:
			obsLo += c
		case x > hi:
			obsHi += c
		}
	}
	for x := lo; x <= hi; x++ {
		e := n * pmf(x)
		expIn += e
		d := float64(counts[x]) - e
		stat += d * d / e
		df++
	}
	// The tails are symmetric for both distributions.
	tail := (n - expIn) / 2
	for _, o := range []int{obsLo, obsHi} {
		if tail > 0 {
			d := float64(o) - tail
			stat += d * d / tail
			df++
		}
	}
	return stat, df - 1
}

// chiCritical is the 1−α quantile of χ²(df) for α = 0.001 (z = 3.0902),
// by the Wilson–Hilferty approximation.
func chiCritical(df int) float64 {
	k := float64(df)
	c := 1 - 2/(9*k) + 3.0902*math.Sqrt(2/(9*k))
	return k * c * c * c
}

func draw(t *testing.T, n int, r io.Reader, f func(io.Reader) (int64, error)) []int64 {
	t.Helper()
	out := make([]int64, n)
	for i := range out {
		x, err := f(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = x
	}
	return out
}

// fits: the samples pass the χ² test against pmf (named want) and fail it
// against wrong, a nearby distribution (else the test has no power).
func fits(t *testing.T, samples []int64, pmf, wrong func(int64) float64, want string) {
	t.Helper()
	stat, df := chiSquare(samples, pmf)
	if crit := chiCritical(df); stat > crit {
		t.Errorf("χ² = %.1f > %.1f (df %d): samples do not follow %s", stat, crit, df, want)
	}
	if stat, df := chiSquare(samples, wrong); stat <= chiCritical(df) {
		t.Errorf("χ² = %.1f against the wrong distribution passed: the test has no power", stat)
	}
}

func TestDiscreteLaplaceMatchesPMF(t *testing.T) {
	cases := []struct {
		name  string
		scale *big.Rat
		n     int
	}{
		{"t=1/2", big.NewRat(1, 2), 20000},
		{"t=1", big.NewRat(1, 1), 20000},
		{"t=10/3", big.NewRat(10, 3), 20000},
		{"t=8", big.NewRat(8, 1), 20000},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tf, _ := c.scale.Float64()
			samples := draw(t, c.n, seeded(byte(i)), func(r io.Reader) (int64, error) { return DiscreteLaplace(r, c.scale) })
			// Power: the same samples against a 20% wider scale must fail.
			fits(t, samples, laplacePMF(tf), laplacePMF(tf*1.2), fmt.Sprintf("Lap_Z(%v)", c.scale))
		})
	}
}

func TestDiscreteGaussianMatchesPMF(t *testing.T) {
	cases := []struct {
		name   string
		sigma2 *big.Rat
	}{
		{"σ²=1/4", big.NewRat(1, 4)},
		{"σ²=1", big.NewRat(1, 1)},
		{"σ²=7/2", big.NewRat(7, 2)},
		{"σ²=50", big.NewRat(50, 1)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sf, _ := c.sigma2.Float64()
			samples := draw(t, 20000, seeded(byte(10+i)), func(r io.Reader) (int64, error) { return DiscreteGaussian(r, c.sigma2) })
			fits(t, samples, gaussianPMF(sf), gaussianPMF(sf*1.3), fmt.Sprintf("N_Z(0, %v)", c.sigma2))
		})
	}
}

// TestSamplersCryptoRand runs both samplers on crypto/rand (the production
// source), at a looser level since this run is not reproducible.
func TestSamplersCryptoRand(t *testing.T) {
	lap := draw(t, 10000, rand.Reader, func(r io.Reader) (int64, error) { return DiscreteLaplace(r, big.NewRat(3, 1)) })
	if stat, df := chiSquare(lap, laplacePMF(3)); stat > chiCritical(df)*1.3 {
		t.Errorf("Laplace on crypto/rand: χ² = %.1f (df %d)", stat, df)
	}
	gau := draw(t, 10000, rand.Reader, func(r io.Reader) (int64, error) { return DiscreteGaussian(r, big.NewRat(9, 1)) })
	if stat, df := chiSquare(gau, gaussianPMF(9)); stat > chiCritical(df)*1.3 {
		t.Errorf("Gaussian on crypto/rand: χ² = %.1f (df %d)", stat, df)
	}
}

func TestBernoulliExp(t *testing.T) {
	for i, g := range []*big.Rat{big.NewRat(0, 1), big.NewRat(1, 3), big.NewRat(1, 1), big.NewRat(5, 2),
		new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(1), 80), new(big.Int).Lsh(big.NewInt(3), 79))} { // 2/3 with 80-bit terms
		const n = 40000
		r := seeded(byte(20 + i))
		hits := 0
		for range n {
			ok, err := BernoulliExp(r, g)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				hits++
			}
		}
		gf, _ := g.Float64()
		p := math.Exp(-gf)
		sd := math.Sqrt(p * (1 - p) / n)
		if got := float64(hits) / n; math.Abs(got-p) > 4*sd+1e-12 {
			t.Errorf("γ=%v: frequency %.4f, want %.4f ± %.4f", g, got, p, 4*sd)
		}
	}
}

// TestLargeParametersUseBig drives the math/big paths: a scale whose
// numerator does not fit a machine word, and a variance with a large
// denominator.
func TestLargeParametersUseBig(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(5), 70)
	scale := new(big.Rat).SetFrac(huge, new(big.Int).Lsh(big.NewInt(1), 70)) // = 5
	lap := draw(t, 3000, seeded(30), func(r io.Reader) (int64, error) { return DiscreteLaplace(r, scale) })
	if stat, df := chiSquare(lap, laplacePMF(5)); stat > chiCritical(df) {
		t.Errorf("big-scale Laplace: χ² = %.1f (df %d)", stat, df)
	}
	s2 := new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(4), 90), new(big.Int).Lsh(big.NewInt(1), 90)) // = 4
	gau := draw(t, 3000, seeded(31), func(r io.Reader) (int64, error) { return DiscreteGaussian(r, s2) })
	if stat, df := chiSquare(gau, gaussianPMF(4)); stat > chiCritical(df) {
		t.Errorf("big-variance Gaussian: χ² = %.1f (df %d)", stat, df)
	}
}

func TestSamplerErrors(t *testing.T) {
	cases := []struct {
		name string
		f    func() error
		want error
	}{
		{"laplace nil reader", func() error { _, err := DiscreteLaplace(nil, big.NewRat(1, 1)); return err }, ErrParam},
		{"laplace zero scale", func() error { _, err := DiscreteLaplace(rand.Reader, new(big.Rat)); return err }, ErrParam},
		{"laplace negative scale", func() error { _, err := DiscreteLaplace(rand.Reader, big.NewRat(-1, 2)); return err }, ErrParam},
		{"gaussian nil variance", func() error { _, err := DiscreteGaussian(rand.Reader, nil); return err }, ErrParam},
		{"gaussian negative variance", func() error { _, err := DiscreteGaussian(rand.Reader, big.NewRat(-3, 1)); return err }, ErrParam},
		{"bernoulli negative gamma", func() error { _, err := BernoulliExp(rand.Reader, big.NewRat(-1, 1)); return err }, ErrParam},
		{"laplace reader exhausted", func() error {
			_, err := DiscreteLaplace(bytes.NewReader(make([]byte, 3)), big.NewRat(4, 1))
			return err
		}, io.ErrUnexpectedEOF},
		{"gaussian reader empty", func() error { _, err := DiscreteGaussian(bytes.NewReader(nil), big.NewRat(4, 1)); return err }, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.f(); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestDeterministic: the same seed gives the same samples (tests and
// audits are reproducible), different seeds different ones.
func TestDeterministic(t *testing.T) {
	f := func(r io.Reader) (int64, error) { return DiscreteGaussian(r, big.NewRat(20, 1)) }
	a, b, c := draw(t, 50, seeded(1), f), draw(t, 50, seeded(1), f), draw(t, 50, seeded(2), f)
	same := func(x, y []int64) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) || same(a, c) {
		t.Errorf("seeded draws: same seed equal %v, other seed equal %v", same(a, b), same(a, c))
	}
}

func BenchmarkDiscreteLaplace(b *testing.B) {
	scale := big.NewRat(8, 1)
	for b.Loop() {
		if _, err := DiscreteLaplace(rand.Reader, scale); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiscreteGaussian(b *testing.B) {
	s2 := big.NewRat(64, 1)
	for b.Loop() {
		if _, err := DiscreteGaussian(rand.Reader, s2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineUint64 is the baseline: one uniform word from
// crypto/rand, the raw cost of the randomness the samplers consume.
func BenchmarkBaselineUint64(b *testing.B) {
	var buf [8]byte
	for b.Loop() {
		if _, err := rand.Read(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}
