package arcface

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/align"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Probe is one face of one photo as this embedder reads it, for the
// adversarial-input guard (it implements squeeze.FaceProbe): the region of
// the decoded photo the aligned 112×112 crop covers, and the embedding of
// the same face read from a squeezed copy of the photo. The guard watches
// the embedder whose output decides who a face is (suggestions and
// compare), so an attack tuned to this model is what it must see.
type Probe struct {
	e *Embedder
	p *picture.Picture
	f blazeface.Face
	t align.Similarity
}

// Probe returns the probe of face f of p.
func (e *Embedder) Probe(p *picture.Picture, f blazeface.Face) Probe {
	return Probe{e: e, p: p, f: f, t: align.ToTemplate(f, InputSize)}
}

// Photo is the decoded photo's pixels.
func (q Probe) Photo() *image.RGBA { return q.p.RGB }

// Region is the bounding box, in decoded photo pixels, of the aligned
// crop's square mapped back into the photo (a rotated face's crop covers
// a larger upright box).
func (q Probe) Region() image.Rectangle {
	inv := q.t.Inverse()
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4]geom.Point{{X: 0, Y: 0}, {X: InputSize, Y: 0}, {X: 0, Y: InputSize}, {X: InputSize, Y: InputSize}} {
		pt := inv.Apply(c)
		minX, maxX = math.Min(minX, pt.X), math.Max(maxX, pt.X)
		minY, maxY = math.Min(minY, pt.Y), math.Max(maxY, pt.Y)
	}
	s := q.p.Scale
	if s <= 0 {
		s = 1
	}
	return image.Rect(int(math.Floor(minX/s)), int(math.Floor(minY/s)), int(math.Ceil(maxX/s)), int(math.Ceil(maxY/s)))
}

// Side is the aligned crop's side in decoded photo pixels: how many of
// the photo's pixels the embedder's 112 read across the face.
func (q Probe) Side() int {
	s := q.p.Scale
	if s <= 0 {
		s = 1
	}
	return max(1, int(math.Round(float64(InputSize)/q.t.Scale()/s)))
}

// Embed is the unit embedding of the face read from img (same bounds as
// the photo), with the same alignment as the unsqueezed photo's.
func (q Probe) Embed(ctx context.Context, img *image.RGBA) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := input(&picture.Picture{RGB: img, Width: q.p.Width, Height: q.p.Height, Scale: q.p.Scale}, q.t, q.e.Order)
	raw, err := q.e.Raw(in)
	if err != nil {
		return nil, fmt.Errorf("arcface: %w", err)
	}
	if len(raw) != Dim {
		return nil, fmt.Errorf("arcface: %d outputs, want %d", len(raw), Dim)
	}
	return unit(raw)
}
