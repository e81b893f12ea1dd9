package dp

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzSamplers drives the samplers with arbitrary parameters and random
// bytes: they never panic, a finite source makes them stop (with a sample
// or an error), parameter checks hold, and no sample comes from nothing.
func FuzzSamplers(f *testing.F) {
	f.Add(uint64(1), uint64(1), []byte("0123456789abcdef0123456789abcdef"))
	f.Add(uint64(10), uint64(3), bytes.Repeat([]byte{0xff}, 64))
	f.Add(uint64(0), uint64(5), []byte{1, 2, 3})
	f.Add(uint64(1<<62), uint64(1), bytes.Repeat([]byte{0}, 128))
	f.Fuzz(func(t *testing.T, num, den uint64, random []byte) {
		if den == 0 {
			den = 1
		}
		r := new(big.Rat).SetFrac(new(big.Int).SetUint64(num), new(big.Int).SetUint64(den))
		x, err := DiscreteLaplace(bytes.NewReader(random), r)
		if num == 0 && err != ErrParam {
			t.Fatalf("scale 0: %d, %v", x, err)
		}
		if err == nil && len(random) == 0 {
			t.Fatalf("a sample (%d) from no randomness", x) // every path reads at least the sign bit
		}
		if _, err := DiscreteGaussian(bytes.NewReader(random), r); num == 0 && err != ErrParam {
			t.Fatalf("variance 0: %v", err)
		}
		if _, err := BernoulliExp(bytes.NewReader(random), r); err != nil && len(random) >= 1<<16 {
			t.Fatalf("BernoulliExp with ample randomness: %v", err)
		}
	})
}
