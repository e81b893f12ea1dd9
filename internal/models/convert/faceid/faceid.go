// Package faceid computes face descriptors with face-api's ResNet-34 (a
// port of dlib's face recognition network, 128 dimensions, 99.38% on LFW
// as dlib reports it), from npm @vladmandic/face-api@1.7.15
// (model/face_recognition_model*, pinned in the model manifest). The
// package ships weights only; Build assembles the ONNX graph from the
// network's definition at setup (faceid.onnx, pinned).
//
// Preprocessing follows face-api: the face is cropped with face-api's
// alignment box (a square of side eye-to-mouth distance / 0.45 around the
// centre of the eyes and mouth, from the detector's keypoints), clipped to
// the image, zero-padded to a centred square, resized bilinearly to
// 150×150; the network subtracts the RGB mean and divides by 255.
//
// Descriptors are biometric data. This package computes them and compares
// them; it never logs them, and callers hold them only under the subject's
// face_recognition consent, encrypted, on a retention schedule. It infers
// nothing but identity similarity.
package faceid

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ModelFile is the manifest name of the built model.
const ModelFile = "faceid.onnx"

// InputSize is the network's input side.
const InputSize = 150

// Dim is the descriptor length.
const Dim = 128

// Threshold is the cosine similarity at or above which two faces are the
// same person for this model: the best split on the annotated set
// (TestVerification, accuracy 0.96). The sets overlap (same-person minimum
// 0.948, different-person maximum 0.950), which is why Obscura matches
// faces with package faceres instead; this model stays as the measured
// alternative.
const Threshold = 0.93

// Descriptor is a unit-length face descriptor.
type Descriptor [Dim]float32

// Similarity is the cosine similarity of two descriptors (in [−1, 1]).
func Similarity(a, b Descriptor) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// ErrNoFace reports an image without a usable face.
var ErrNoFace = errors.New("no face found")

// Embedder computes descriptors. It is safe for concurrent use.
type Embedder struct{ s *ort.Session }

// New creates an embedder from the verified model bytes.
func New(model []byte, threads int) (*Embedder, error) {
	s, err := ort.NewSession(model, threads)
	if err != nil {
		return nil, fmt.Errorf("faceid: %w", err)
	}
	return &Embedder{s: s}, nil
}

// Close releases the session.
func (e *Embedder) Close() error { return e.s.Close() }

// AlignBox is face-api's alignment square for a detected face, in
// full-size pixels (not clipped).
func AlignBox(f blazeface.Face) geom.Rect {
	re, le, mouth := f.Keypoints[0], f.Keypoints[1], f.Keypoints[3]
	dist := func(p geom.Point) float64 { return math.Hypot(mouth.X-p.X, mouth.Y-p.Y) }
	size := math.Floor((dist(re) + dist(le)) / 2 / 0.45)
	cx, cy := (re.X+le.X+mouth.X)/3, (re.Y+le.Y+mouth.Y)/3
	return geom.Rect{X: math.Floor(cx - 0.5*size), Y: math.Floor(cy - 0.43*size), W: size, H: size}
}

// Input is the network input (NHWC 150×150×3, 0..255) for a face.
func Input(p *picture.Picture, f blazeface.Face) []float32 {
	box := AlignBox(f).Clip(float64(p.Width), float64(p.Height))
	// To decoded pixels.
	x0, y0 := int(box.X/p.Scale), int(box.Y/p.Scale)
	w, h := max(1, int(box.W/p.Scale)), max(1, int(box.H/p.Scale))
	side := max(w, h)
	in := make([]float32, InputSize*InputSize*3)
	// Zero-pad to a centred square, as face-api does, then resize.
	ox, oy := (side-w)/2, (side-h)/2
	scale := float64(InputSize) / float64(side)
	px0, py0 := int(math.Round(float64(ox)*scale)), int(math.Round(float64(oy)*scale))
	pw, ph := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	pw, ph = min(pw, InputSize-px0), min(ph, InputSize-py0)
	picture.Resize(p.RGB, rectOf(x0, y0, w, h), pw, ph, func(x, y int, cr, cg, cb float32) {
		i := ((py0+y)*InputSize + px0 + x) * 3
		in[i], in[i+1], in[i+2] = cr, cg, cb
	})
	return in
}

// Embed computes the unit-length descriptor of a detected face.
func (e *Embedder) Embed(ctx context.Context, p *picture.Picture, f blazeface.Face) (Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return Descriptor{}, err
	}
	out, shape, err := e.s.Run(Input(p, f), 1, InputSize, InputSize, 3)
	if err != nil {
		return Descriptor{}, fmt.Errorf("faceid: %w", err)
	}
	if len(out) != Dim || len(shape) != 2 {
		return Descriptor{}, fmt.Errorf("faceid: output shape %v", shape)
	}
	var d Descriptor
	var n float64
	for _, v := range out {
		n += float64(v) * float64(v)
	}
	n = math.Sqrt(n)
	if n == 0 {
		return Descriptor{}, ErrNoFace
	}
	for i, v := range out {
		d[i] = float32(float64(v) / n)
	}
	return d, nil
}
