package normality

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestShapiroWilk(t *testing.T) {
	// Shapiro and Wilk's (1965) worked example: weights of 11 men, W = 0.79.
	weights := []float64{148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236}
	if w := ShapiroWilk(weights); math.Abs(w-0.79) > 0.01 {
		t.Errorf("W(weights) = %.4f, want 0.79", w)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	normal := make([]float64, 300)
	expo := make([]float64, 300)
	bimodal := make([]float64, 300)
	for i := range normal {
		normal[i] = rng.NormFloat64()
		expo[i] = rng.ExpFloat64()
		bimodal[i] = rng.NormFloat64()*0.1 + float64(i%5/4)*5
	}
	if w := ShapiroWilk(normal); w < 0.98 {
		t.Errorf("W(normal) = %.4f, want ≥ 0.98", w)
	}
	if w := ShapiroWilk(expo); w > 0.9 {
		t.Errorf("W(exponential) = %.4f, want < 0.9", w)
	}
	if w := ShapiroWilk(bimodal); w > 0.8 {
		t.Errorf("W(bimodal) = %.4f, want < 0.8", w)
	}
	for _, small := range [][]float64{nil, {1, 2}, {3, 3, 3, 3}} {
		if w := ShapiroWilk(small); w != 1 {
			t.Errorf("W(%v) = %v, want 1", small, w)
		}
	}
	if w := ShapiroWilk([]float64{1, 2, 4}); w <= 0 || w > 1 {
		t.Errorf("W(n=3) = %v", w)
	}
}

func FuzzShapiroWilk(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 10.0, 0.5)
	f.Fuzz(func(t *testing.T, a, b, c, d, e float64) {
		x := []float64{a, b, c, d, e, a * 2, b + c}
		for _, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e150 {
				return
			}
		}
		if w := ShapiroWilk(x); math.IsNaN(w) || w < 0 || w > 1 {
			t.Fatalf("W(%v) = %v", x, w)
		}
	})
}
