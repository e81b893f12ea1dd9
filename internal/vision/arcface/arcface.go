// Package arcface computes face embeddings with Faceplugin's fr_feature
// model, an ArcFace-style network (512 dimensions, L2-normalised here and
// compared by cosine similarity).
//
// Model and source: npm faceplugin-face-recognition-js@0.0.1 (MIT),
// model/fr_feature.onnx, pinned in internal/models/manifest.json as
// arcface.onnx (tarball SRI integrity, file SHA-256 and size), run as
// shipped through ONNX Runtime (package ort): no conversion step.
//
// Preprocessing: the face is aligned with the similarity transform that
// takes BlazeFace's eye, nose and mouth-centre keypoints onto the ArcFace
// 112×112 template (package align, least squares over four points), the
// aligned crop is sampled bilinearly (edge pixels repeated outside the
// photo), and each channel value p in 0..255 becomes (p − 127)/128, NCHW
// 1×3×112×112, channels in BGR order. The package's own JavaScript feeds
// what OpenCV.js's imread returns (RGBA, so RGB) and aligns with a 3-point
// affine transform from a 68-point landmark model; both choices were
// measured worse (docs/faces.md): BGR scores higher, as for most
// InsightFace-trained models, and the package code is not used at all
// (its matchFeature always returns −1).
//
// Embeddings are biometric data: never logged, never returned by the API,
// stored only sealed under the subject's face_recognition scope key.
package arcface

import (
	"context"
	"fmt"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/align"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ModelFile is the manifest name of the model.
const ModelFile = "arcface.onnx"

// ModelID names this embedder's embedding space in galleries and drafts:
// embeddings of different models are never compared.
const ModelID = "arcface-fr_feature-0.0.1"

// InputSize is the network's input side.
const InputSize = 112

// Dim is the embedding length.
const Dim = 512

// Operating points, as cosine similarity of unit embeddings, measured by
// `obscura faces calibrate --variants` on the LFW10 calibration set (10
// people × 10 photos of Labeled Faces in the Wild, plus greyscale, 40–100
// px, JPEG q30–60 and screenshot variants; 450 genuine and 4,500 impostor
// pairs of originals, 3,600 and 36,000 more with variants) with the rule
// of package calibrate, and checked on the sample photos' faces
// (TestCalibration):
//
//   - suggest: the rule's threshold on all LFW10 pairs, 0.299 (false-match
//     rate ≤ 0.1% on the calibration pairs, for a target ≤ 1% on other
//     people; held out 5-fold by person: met). On faces of one group
//     photo it lets 7% of impostor pairs through: the user confirms every
//     suggestion, so recall wins here.
//   - compare: a three-way answer (Decide). At or above CompareThreshold,
//     "match"; below UnsureThreshold, "no match"; in between, "unsure".
//     UnsureThreshold is the rule's compare threshold on all LFW10 pairs
//     (0.345, just above every impostor pair; held out 5-fold: no false
//     match). CompareThreshold stays above every pair of certainly
//     different people seen on the sample photos: two people of one sample
//     photo score 0.398 as photographed and up to 0.408 degraded, large
//     (about 190 px), sharp, colour faces, so no face-quality bar separates
//     them from LFW10's (87–124 px) genuine pairs, and fusing FaceRes's
//     cosine does not either (docs/faces.md, session 9). Between the two
//     thresholds this model cannot tell look-alikes from the same person,
//     and says so instead of answering "no match" for 3% of LFW10's
//     genuine pairs.
const (
	// SuggestThreshold is where face-tag suggestions start.
	SuggestThreshold = 0.30
	// CompareThreshold is where `faces compare` answers "match".
	CompareThreshold = 0.42
	// UnsureThreshold is where `faces compare` stops answering "no match":
	// from here up to CompareThreshold it answers "unsure".
	UnsureThreshold = 0.35
)

// Decision is the answer of `faces compare` for one pair of faces.
type Decision string

// Decisions.
const (
	Match   Decision = "match"
	NoMatch Decision = "no_match"
	// Unsure: the similarity is in the range where this model scores
	// look-alike different people as well as the same person.
	Unsure Decision = "unsure"
)

// Decide is the compare answer for a cosine similarity s.
func Decide(s float64) Decision {
	switch {
	case s >= CompareThreshold:
		return Match
	case s >= UnsureThreshold:
		return Unsure
	}
	return NoMatch
}

// Order is a channel order of the network input.
type Order int

// Channel orders.
const (
	BGR Order = iota // what the model scores best with (docs/faces.md)
	RGB
)

// Embedder computes embeddings. It is safe for concurrent use.
type Embedder struct {
	s *ort.Session
	// Order is the channel order fed to the network (BGR unless a
	// measurement says otherwise).
	Order Order
	// Unaligned feeds the detector's box (squared, resized) instead of the
	// aligned face: only for measuring what alignment is worth.
	Unaligned bool
}

// New creates an embedder from the verified model bytes.
func New(model []byte, threads int) (*Embedder, error) {
	return ort.Open("arcface", model, threads, func(s *ort.Session) *Embedder { return &Embedder{s: s} })
}

// Close releases the session.
func (e *Embedder) Close() error { return e.s.Close() }

// Input is the network input (NCHW 1×3×112×112) for a detected face,
// aligned to the ArcFace template.
func Input(p *picture.Picture, f blazeface.Face, order Order) []float32 {
	return input(p, align.ToTemplate(f, InputSize), order)
}

// UnalignedInput is the network input for the detector's box, squared
// around its centre and resized: no rotation, no keypoints.
func UnalignedInput(p *picture.Picture, f blazeface.Face, order Order) []float32 {
	side := max(f.Box.W, f.Box.H)
	s := InputSize / max(side, 1)
	cx, cy := f.Box.X+f.Box.W/2, f.Box.Y+f.Box.H/2
	return input(p, align.Similarity{A: s, TX: InputSize/2 - s*cx, TY: InputSize/2 - s*cy}, order)
}

func input(p *picture.Picture, t align.Similarity, order Order) []float32 {
	const plane = InputSize * InputSize
	in := make([]float32, 3*plane)
	c0, c2 := 2*plane, 0 // BGR: blue first
	if order == RGB {
		c0, c2 = 0, 2*plane
	}
	align.Warp(p, t, InputSize, func(x, y int, r, g, b float32) {
		i := y*InputSize + x
		in[c0+i] = (r - 127) / 128
		in[plane+i] = (g - 127) / 128
		in[c2+i] = (b - 127) / 128
	})
	return in
}

// Raw runs the network on a prepared input (not normalised).
func (e *Embedder) Raw(in []float32) ([]float32, error) {
	out, _, err := e.s.Run(in, 1, 3, InputSize, InputSize)
	return out, err
}

// Embed computes the unit-length embedding of a detected face.
func (e *Embedder) Embed(ctx context.Context, p *picture.Picture, f blazeface.Face) ([]float32, error) {
	in, err := e.faceInput(ctx, p, f)
	if err != nil {
		return nil, err
	}
	raw, err := e.Raw(in)
	if err != nil {
		return nil, fmt.Errorf("arcface: %w", err)
	}
	if len(raw) != Dim {
		return nil, fmt.Errorf("arcface: %d outputs, want %d", len(raw), Dim)
	}
	return unit(raw)
}

// EmbedFlip is the unit embedding of a detected face with test-time flip
// augmentation, as ArcFace evaluations do (Deng et al., CVPR 2019, §3.3
// "flip test"): the aligned crop and its mirror image are embedded, the
// two raw outputs summed and the sum scaled to unit length. It costs two
// network runs. Measured for `faces compare` in session 8 (`obscura faces
// calibrate --model arcface-flip`; docs/faces.md) and not shipped: on
// LFW10 it lowers the false non-match rate at the compare threshold by
// about half a point, but the sample photos' closest impostor pair rises
// (0.408 → 0.414), so the threshold cannot come down, for twice the cost.
func (e *Embedder) EmbedFlip(ctx context.Context, p *picture.Picture, f blazeface.Face) ([]float32, error) {
	in, err := e.faceInput(ctx, p, f)
	if err != nil {
		return nil, err
	}
	a, err := e.Raw(in)
	if err != nil {
		return nil, fmt.Errorf("arcface: %w", err)
	}
	b, err := e.Raw(Mirror(in))
	if err != nil {
		return nil, fmt.Errorf("arcface: %w", err)
	}
	if len(a) != Dim || len(b) != Dim {
		return nil, fmt.Errorf("arcface: %d and %d outputs, want %d", len(a), len(b), Dim)
	}
	for i := range a {
		a[i] += b[i]
	}
	return unit(a)
}

// faceInput is the network input for face f of p as e is set to read it.
func (e *Embedder) faceInput(ctx context.Context, p *picture.Picture, f blazeface.Face) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.Unaligned {
		return UnalignedInput(p, f, e.Order), nil
	}
	return Input(p, f, e.Order), nil
}

// Mirror returns a copy of a network input (NCHW 1×3×112×112) flipped left
// to right.
func Mirror(in []float32) []float32 {
	out := make([]float32, len(in))
	for c := range 3 {
		for y := range InputSize {
			row := (c*InputSize + y) * InputSize
			for x := range InputSize {
				out[row+x] = in[row+InputSize-1-x]
			}
		}
	}
	return out
}

// unit scales v to unit length in place.
func unit(v []float32) ([]float32, error) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, fmt.Errorf("arcface: degenerate embedding")
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v, nil
}
