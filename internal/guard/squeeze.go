package guard

import (
	"fmt"
	"math"
	"slices"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Feature squeezing (Xu, Evans and Qi, NDSS 2018): an adversarial input is
// tuned to the model's exact pixels, so "squeezing" it — fewer bits per
// colour, or a 2×2 median filter — moves the model's output far more than
// it moves a natural input's. The detector scores the largest change of
// the model's output between the input and its squeezed copies.
//
// It guards the face-recognition model (FaceRes), whose embeddings decide
// who a face is: on the 22 annotated sample faces squeezing moves the
// embedding by at most 0.008 (1 − cosine), so a small threshold separates.
// The sensitive-content classifier (nsfwjs) was measured too and is not
// usable for this: a 2×2 median alone moves its five-class output by an L1
// of 0.28 at the median and 1.16 at worst on the same benign set — more
// than the attacks move it (docs/threat-model.md).

// SqueezeBits is the colour depth of the bit-depth squeezer (Xu et al.'s
// ImageNet setting).
const SqueezeBits = 5

// DefaultFaceSqueezeThreshold flags a face whose embedding moves by more
// than this (1 − cosine) under squeezing: 1.5× the largest benign value
// measured (0.008), see TestFaceSqueezing.
const DefaultFaceSqueezeThreshold = 0.012

type embedder interface {
	Raw(in []float32) ([]float32, error)
}

// FaceSqueezer scores faces.
type FaceSqueezer struct {
	e         embedder
	Threshold float64
}

// NewFaceSqueezer returns a squeezer over the face embedder.
func NewFaceSqueezer(e embedder) *FaceSqueezer {
	return &FaceSqueezer{e: e, Threshold: DefaultFaceSqueezeThreshold}
}

// caffeMean is what faceres subtracts per channel (BGR).
var caffeMean = [3]float32{103.939, 116.779, 123.68}

// BitDepth squeezes a FaceRes input tensor to bits per channel.
func BitDepth(in []float32, bits int) []float32 {
	out := make([]float32, len(in))
	levels := float64(int(1)<<bits - 1)
	for i, v := range in {
		m := caffeMean[i%3]
		px := math.Min(1, math.Max(0, float64(v+m)/255))
		out[i] = float32(math.Round(px*levels)/levels*255) - m
	}
	return out
}

// Median2x2 is Xu et al.'s 2×2 median filter per channel over a side×side
// NHWC tensor (window: the pixel, its right, lower and lower-right
// neighbours, clamped at the edges; the median of four is the mean of the
// middle two).
func Median2x2(in []float32, side int) []float32 {
	out := make([]float32, len(in))
	var w [4]float32
	for y := range side {
		for x := range side {
			for c := range 3 {
				at := func(xx, yy int) float32 { return in[(min(yy, side-1)*side+min(xx, side-1))*3+c] }
				w = [4]float32{at(x, y), at(x+1, y), at(x, y+1), at(x+1, y+1)}
				slices.Sort(w[:])
				out[(y*side+x)*3+c] = (w[1] + w[2]) / 2
			}
		}
	}
	return out
}

func unitCos(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// ScoreInput is the squeezing score of one FaceRes input tensor.
func (s *FaceSqueezer) ScoreInput(in []float32) (float64, error) {
	o, err := s.e.Raw(in)
	if err != nil {
		return 0, fmt.Errorf("squeeze: %w", err)
	}
	b, err := s.e.Raw(BitDepth(in, SqueezeBits))
	if err != nil {
		return 0, fmt.Errorf("squeeze: %w", err)
	}
	m, err := s.e.Raw(Median2x2(in, faceres.InputSize))
	if err != nil {
		return 0, fmt.Errorf("squeeze: %w", err)
	}
	return 1 - math.Min(unitCos(o, b), unitCos(o, m)), nil
}

// Adversarial reports whether the face f of p looks adversarial, with its
// score.
func (s *FaceSqueezer) Adversarial(p *picture.Picture, f blazeface.Face) (bool, float64, error) {
	sc, err := s.ScoreInput(faceres.Input(p, f))
	return sc > s.Threshold, sc, err
}
