package guardeval

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
)

// pgd is projected gradient descent in L∞ on the photo's own pixels
// inside the face's region, with the gradient of the target embedder's
// cosine to the original estimated from the model's outputs alone (NES:
// antithetic Gaussian samples, Ilyas et al., "Black-box Adversarial
// Attacks with Limited Queries and Information", ICML 2018; ONNX Runtime
// gives no gradients). The perturbation lives on a grid of tile×tile
// pixels (the "tiling" prior of Ilyas et al., ICLR 2019), which makes the
// estimate usable with few queries. Every step takes a signed step of
// eps/4 and projects back to ±eps; pixels are rounded to 8 bits, as an
// uploaded photo's are. steps × (2·pairs + 1) model queries.
type pgd struct{ eps, steps, pairs, tile int }

func (a pgd) run(t testing.TB, probe squeeze.FaceProbe, rng *rand.Rand) (*image.RGBA, float64) {
	ctx := context.Background()
	src := probe.Photo()
	orig, err := probe.Embed(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	r := probe.Region().Intersect(src.Rect)
	tw, th := (r.Dx()+a.tile-1)/a.tile, (r.Dy()+a.tile-1)/a.tile
	n := tw * th * 3
	apply := func(d []float64) *image.RGBA {
		out := &image.RGBA{Pix: slices.Clone(src.Pix), Stride: src.Stride, Rect: src.Rect}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				i := ((y-r.Min.Y)/a.tile*tw + (x-r.Min.X)/a.tile) * 3
				o := src.PixOffset(x, y)
				for c := range 3 {
					out.Pix[o+c] = uint8(min(255, max(0, math.Round(float64(src.Pix[o+c])+d[i+c]))))
				}
			}
		}
		return out
	}
	loss := func(d []float64) float64 {
		v, err := probe.Embed(ctx, apply(d))
		if err != nil {
			t.Fatal(err)
		}
		return cosine(orig, v)
	}
	eps := float64(a.eps)
	sigma, alpha := max(2, eps/4), max(1, eps/4)
	delta := make([]float64, n)
	best, bestD := 1.0, slices.Clone(delta)
	u := make([]float64, n)
	g := make([]float64, n)
	plus, minus := make([]float64, n), make([]float64, n)
	for range a.steps {
		clear(g)
		for range a.pairs {
			for i := range u {
				u[i] = rng.NormFloat64()
				plus[i], minus[i] = delta[i]+sigma*u[i], delta[i]-sigma*u[i]
			}
			d := loss(plus) - loss(minus)
			for i := range g {
				g[i] += d * u[i]
			}
		}
		for i := range delta {
			switch {
			case g[i] > 0:
				delta[i] -= alpha
			case g[i] < 0:
				delta[i] += alpha
			}
			delta[i] = min(eps, max(-eps, delta[i]))
		}
		if c := loss(delta); c < best {
			best, bestD = c, slices.Clone(delta)
		}
	}
	return apply(bestD), best
}
