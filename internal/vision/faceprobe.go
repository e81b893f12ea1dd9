package vision

import (
	"context"
	"image"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// FaceProbe is one face of one photo as the face embedder reads it: the
// photo's pixels, the region the embedding reads, and the embedding of the
// same face read from another copy of the photo. The adversarial-input
// guard (squeeze.FaceProbe, the same methods) squeezes the region and
// compares embeddings through it, knowing no model.
type FaceProbe interface {
	Photo() *image.RGBA
	Region() image.Rectangle
	Embed(ctx context.Context, img *image.RGBA) ([]float32, error)
}

// FaceProbe is the probe of face f of p through the guard's embedder
// (FaceRes; identity embeddings come from package arcface).
func (e *Engine) FaceProbe(p *picture.Picture, f blazeface.Face) FaceProbe {
	return e.emb.Probe(p, f)
}
