// Package squeeze is the adversarial-input guard of the face embedder.
//
// Feature squeezing (Xu, Evans and Qi, NDSS 2018): an adversarial input is
// tuned to the model's exact pixels, so "squeezing" it — a median filter,
// a re-encode, a blur — moves the model's output far more than it moves a
// natural input's. The detector scores how far the model's output moves
// between the input and its squeezed copies.
//
// It guards the face-recognition model, whose embeddings decide who a face
// is. The face's region of the photo is squeezed five ways in the photo's
// own pixels (where an uploader plants a perturbation): 2×2 and 3×3
// median, JPEG 75, a small Gaussian blur, and halving then doubling; the
// embedding of each squeezed copy is compared with the original's. The
// package knows no model: the embedder comes in through FaceProbe, which
// the model's package implements (its crop geometry and preprocessing
// stay with it).
//
// How far a natural face's embedding moves depends on how many pixels the
// face has: a 3×3 median over a 60-pixel face removes detail the embedder
// uses, over a 600-pixel face it removes nothing of note. Each squeezer's
// shift is therefore compared with what natural faces of that size reach:
// on real photos and their degraded variants, ln(shift) is close to linear
// in ln(side) with a spread σ, so each squeezer gives a z-score
// (ln(shift) − a − b·ln(side)) / σ, and the face's score is the mean of
// the five. An attack's perturbation is undone by all of them at once; a
// natural face's detail is lost more to one squeezer than to another, so
// the mean separates the two better than any one shift or their maximum
// (docs/guards.md, measured in session 7).
//
// The sensitive-content classifier (nsfwjs) was measured too and is not
// usable for this: a 2×2 median alone moves its five-class output by an L1
// of 0.28 at the median and 1.16 at worst on the same benign set — more
// than the attacks move it (docs/threat-model.md).
//
// A verdict is advice about one face, never a reason to refuse a photo:
// the caller analyses the photo and withholds only what the face's
// embedding would decide (storing it, matching it).
package squeeze

import (
	"context"
	"image"
	"math"
	"slices"
)

// BitDepth is the colour depth of the bit-depth squeezer (Xu et al.'s
// ImageNet setting). It is measured (Shifts) but not scored: a natural
// face's shift under it is as large as an attack's.
const BitDepth = 5

// FaceProbe is one face of one photo as a face embedder reads it. The
// embedder's package implements it.
type FaceProbe interface {
	// Photo is the decoded photo's pixels.
	Photo() *image.RGBA
	// Region is the rectangle of Photo whose pixels the embedding reads.
	Region() image.Rectangle
	// Embed embeds the same face read from img, a copy of Photo with the
	// same bounds (its Region squeezed).
	Embed(ctx context.Context, img *image.RGBA) ([]float32, error)
}

// Verdict is the squeezer's view of one face.
type Verdict struct {
	// Suspicious is Score > Threshold: the face's embedding must not be
	// stored, matched or offered as a suggestion.
	Suspicious bool
	// Score is the mean over the scored squeezers of the size-normalised
	// z-score of the embedding's shift (see Model).
	Score float64
	// Threshold is the cut-off.
	Threshold float64
	// Side is the face region's side in decoded photo pixels.
	Side int
	// Shifts are 1 − the cosine between the face's embedding and each
	// squeezed copy's, in the order of the squeezer's models.
	Shifts []float64
}

// Model is what natural faces' shifts under one squeezer look
// like: ln(1 − cosine) ≈ A + B·ln(side), with residual spread Sigma.
type Model struct {
	Squeezer    Squeezer
	A, B, Sigma float64
}

// Z is how unusual shift is for a natural face region of side pixels, in
// units of Sigma.
func (m Model) Z(shift float64, side int) float64 {
	return (math.Log(max(shift, MinShift)) - m.A - m.B*math.Log(float64(side))) / m.Sigma
}

// MinShift is the smallest shift scored: below it an embedding's move is
// rounding noise.
const MinShift = 1e-4

// DefaultModels and DefaultThreshold were fitted in session 7 on the
// first 27 of LFW10's 100 photos (354 faces, each photo with 13 degraded
// variants: downscaled to 240 px and to 0.5 and 0.7×, JPEG 30/40/60/90,
// greyscale, PNG, 3×3 blur, σ 6 noise, a 70% crop) through the FaceRes
// probe, the threshold 15% above the highest natural score there. In
// session 8 all 100 photos were measured (1,406 faces of 32–171 px; the
// raw shifts are committed, testdata/lfw10-shifts.csv): these models flag
// 4 of them (0.28%; TestDefaultsOnCalibration). Refitting on all 1,406
// widens every Sigma, and no threshold of the refit that keeps the
// calibration set at ≤ 0.5% catches as many of the committed attacks
// (at most 28–30 of 32 against 31; docs/guards.md), so the session-7
// models stay. Re-measured on photos neither fit saw
// (guardeval.TestFaceSqueezeBenign, TestFaceSqueezeAttacks).
var (
	DefaultModels = []Model{
		{Median2, 3.91, -1.88, 0.26},
		{Median3, 6.79, -2.39, 0.40},
		{JPEG75, 4.48, -2.03, 0.35},
		{Blur, 6.11, -2.26, 0.34},
		{DownUp, 6.08, -2.05, 0.31},
	}
	DefaultThreshold = 2.2
)

// The size range the models were fitted on: a face outside it is scored
// as a face of the nearest size in it (larger faces move less, so this
// only errs towards not flagging).
const (
	DefaultMinSide = 35
	DefaultMaxSide = 171
)

// FaceSqueezer scores faces. It is safe for concurrent use when its
// probes' embedders are.
type FaceSqueezer struct {
	Models           []Model
	Threshold        float64
	MinSide, MaxSide int
}

// New returns a squeezer with the default models.
func New() *FaceSqueezer {
	return &FaceSqueezer{Models: DefaultModels, Threshold: DefaultThreshold,
		MinSide: DefaultMinSide, MaxSide: DefaultMaxSide}
}

// Score is the face's score from its shifts (in the order of s.Models)
// and its region's side.
func (s *FaceSqueezer) Score(shifts []float64, side int) float64 {
	side = min(max(side, s.MinSide), s.MaxSide)
	var sum float64
	for i, m := range s.Models {
		sum += m.Z(shifts[i], side)
	}
	return sum / float64(len(s.Models))
}

// Check scores the face of probe. emb is the face's embedding when the
// caller already has it (nil: computed here), saving one model run.
func (s *FaceSqueezer) Check(ctx context.Context, probe FaceProbe, emb []float32) (Verdict, error) {
	ks := make([]Squeezer, len(s.Models))
	for i, m := range s.Models {
		ks[i] = m.Squeezer
	}
	shifts, err := Shifts(ctx, probe, emb, ks)
	if err != nil {
		return Verdict{}, err
	}
	side := max(probe.Region().Dx(), probe.Region().Dy())
	v := Verdict{Score: s.Score(shifts, side), Threshold: s.Threshold, Side: side, Shifts: shifts}
	v.Suspicious = v.Score > v.Threshold
	return v, nil
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

// The pixel squeezers of squeezeRegion.
const (
	squeezeBits = iota
	squeezeMedian2
	squeezeMedian3
)

// squeezeRegion writes region r of src, squeezed in photo pixels (bit
// depth reduced, or 2×2- or 3×3-median filtered), into out.
func squeezeRegion(out, src *image.RGBA, r image.Rectangle, kind int) {
	levels := float64(int(1)<<BitDepth - 1)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := out.PixOffset(x, y)
			for c := range 3 {
				at := func(xx, yy int) uint8 {
					return src.Pix[src.PixOffset(min(max(xx, r.Min.X), r.Max.X-1), min(max(yy, r.Min.Y), r.Max.Y-1))+c]
				}
				var v float64
				switch kind {
				case squeezeMedian2:
					w := [4]uint8{at(x, y), at(x+1, y), at(x, y+1), at(x+1, y+1)}
					slices.Sort(w[:])
					v = (float64(w[1]) + float64(w[2])) / 2
				case squeezeMedian3:
					var w [9]uint8
					for i := range 9 {
						w[i] = at(x+i%3-1, y+i/3-1)
					}
					slices.Sort(w[:])
					v = float64(w[4])
				default:
					v = math.Round(float64(at(x, y))/255*levels) / levels * 255
				}
				out.Pix[o+c] = uint8(v + 0.5)
			}
		}
	}
}
