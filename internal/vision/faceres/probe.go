package faceres

import (
	"context"
	"image"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Probe is one face of one photo as this embedder reads it, for the
// adversarial-input guard (it implements squeeze.FaceProbe): the region of
// the decoded photo the crop covers, and the embedding of the same face
// read from a squeezed copy of the photo. The crop geometry and the
// preprocessing (BGR minus the Caffe mean) stay here, with the model.
type Probe struct {
	e *Embedder
	p *picture.Picture
	f blazeface.Face
}

// Probe returns the probe of face f of p.
func (e *Embedder) Probe(p *picture.Picture, f blazeface.Face) Probe {
	return Probe{e: e, p: p, f: f}
}

// Photo is the decoded photo's pixels.
func (q Probe) Photo() *image.RGBA { return q.p.RGB }

// Region is the crop Input reads, in decoded photo pixels.
func (q Probe) Region() image.Rectangle {
	b := CropBox(q.f)
	x0, y0 := int(math.Round(b.X/q.p.Scale)), int(math.Round(b.Y/q.p.Scale))
	return rect(x0, y0, max(1, int(math.Round(b.W/q.p.Scale))))
}

// Embed is the raw embedding of the face read from img (same bounds as
// the photo).
func (q Probe) Embed(ctx context.Context, img *image.RGBA) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return q.e.Raw(Input(&picture.Picture{RGB: img, Width: q.p.Width, Height: q.p.Height, Scale: q.p.Scale}, q.f))
}
