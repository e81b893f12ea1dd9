package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg" // registers JPEG for image.DecodeConfig (header only, pure Go)
	"time"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// The pool is the vision engine as the services see it: every decode and
// model run happens in a worker, and every reply is checked here.

func (p *Pool) maxPixels() int64 {
	if m := p.opt.Config.Decode.MaxPixels; m > 0 {
		return m
	}
	return picture.DefaultOptions.MaxPixels
}

// Decode decodes image bytes in a worker, at the smallest DCT scale that
// keeps the configured side. The worker keeps the picture for the
// request's model passes (keep.go) until Release.
func (p *Pool) Decode(data []byte) (*picture.Picture, error) {
	return p.decode(data, protocol.DecodeMeta{Keep: protocol.NewKeepID()})
}

// DecodeFull decodes image bytes in a worker at full size (kept nowhere).
func (p *Pool) DecodeFull(data []byte) (*picture.Picture, error) {
	return p.decode(data, protocol.DecodeMeta{Full: true})
}

func (p *Pool) decode(data []byte, m protocol.DecodeMeta) (*picture.Picture, error) {
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.opt.Timeout+time.Second)
	defer cancel()
	var pic *picture.Picture
	var kept bool
	r := p.send(ctx, &call{req: protocol.Frame{Op: protocol.OpDecode, Meta: meta, Blob: data}, maxReply: 4 * p.maxPixels(), check: func(f protocol.Frame) (err error) {
		pic, kept, err = parseDecodeReply(f, p.maxPixels(), m.Keep != "")
		return err
	}})
	if r.err != nil {
		return nil, r.err
	}
	if kept {
		p.keep(pic, r.w, m.Keep)
	}
	return pic, nil
}

// model sends a model pass on pic: to the worker keeping it, naming it,
// when that worker is idle; else with its pixels to the first free one.
func (p *Pool) model(ctx context.Context, op protocol.Op, pic *picture.Picture, meta func(ref string) ([]byte, error), maxReply int64, check func(protocol.Frame) error) error {
	full, err := meta("")
	if err != nil {
		return err
	}
	c := &call{req: protocol.Frame{Op: op, Meta: full, Blob: protocol.Pixels(pic.RGB)}, maxReply: maxReply, check: check}
	if ref, ok := p.keptBy(pic); ok {
		named, err := meta(ref.id)
		if err != nil {
			return err
		}
		c.alt, c.owner = &protocol.Frame{Op: op, Meta: named}, ref.w
	}
	return p.send(ctx, c).err
}

// Analyze decodes and analyses image bytes (the CLI's analyze).
func (p *Pool) Analyze(ctx context.Context, data []byte, features []string) (*vision.Result, error) {
	if err := vision.CheckFeatures(features); err != nil {
		return nil, err
	}
	pic, err := p.Decode(data)
	if err != nil {
		return nil, err
	}
	defer p.Release(pic)
	return p.AnalyzePicture(ctx, pic, features)
}

// AnalyzePicture runs the requested features on a decoded picture in a
// worker and checks the hardened result's shape and bounds.
func (p *Pool) AnalyzePicture(ctx context.Context, pic *picture.Picture, features []string) (*vision.Result, error) {
	if err := vision.CheckFeatures(features); err != nil {
		return nil, err
	}
	m := protocol.MetaOf(pic)
	meta := func(ref string) ([]byte, error) {
		return json.Marshal(protocol.AnalyzeMeta{Picture: m, Features: features, Ref: ref})
	}
	var res *vision.Result
	err := p.model(ctx, protocol.OpAnalyze, pic, meta, 0, func(f protocol.Frame) (err error) {
		res, err = parseAnalyzeReply(f, m, features)
		return err
	})
	return res, err
}

// Embeddings detects faces and computes their identity embeddings in a
// worker; each vector must be unit length and finite.
func (p *Pool) Embeddings(ctx context.Context, pic *picture.Picture) ([]vision.Embedding, error) {
	m := protocol.MetaOf(pic)
	meta := func(ref string) ([]byte, error) { return json.Marshal(protocol.EmbedMeta{PictureMeta: m, Ref: ref}) }
	var out []vision.Embedding
	err := p.model(ctx, protocol.OpEmbed, pic, meta, MaxFaces*arcface.Dim*4, func(f protocol.Frame) (err error) {
		out, err = parseEmbedReply(f, m)
		return err
	})
	return out, err
}

// Largest is the identity embedding of the largest face in an image.
func (p *Pool) Largest(ctx context.Context, data []byte) ([]float32, error) {
	pic, err := p.Decode(data)
	if err != nil {
		return nil, err
	}
	defer p.Release(pic)
	es, err := p.Embeddings(ctx, pic)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, vision.ErrNoFace
	}
	big := es[0]
	for _, e := range es[1:] {
		if e.Face.Box.Area() > big.Face.Box.Area() {
			big = e
		}
	}
	return big.Vector, nil
}

// FaceProbe is face f of pic as the guard's embedder reads it, run in a
// worker: only the face's region of a (squeezed) photo is sent.
func (p *Pool) FaceProbe(pic *picture.Picture, f blazeface.Face) vision.FaceProbe {
	return probe{p: p, pic: pic, f: f}
}

type probe struct {
	p   *Pool
	pic *picture.Picture
	f   blazeface.Face
}

// Photo is the decoded photo's pixels.
func (q probe) Photo() *image.RGBA { return q.pic.RGB }

// Region is the crop the embedder reads (faceres's geometry).
func (q probe) Region() image.Rectangle {
	var e *faceres.Embedder // Region reads only the geometry
	return e.Probe(q.pic, q.f).Region()
}

// Embed is the raw guard embedding of the face read from img.
func (q probe) Embed(ctx context.Context, img *image.RGBA) ([]float32, error) {
	r := q.Region().Inset(-2).Intersect(img.Rect)
	if r.Empty() {
		r = image.Rect(0, 0, 1, 1).Intersect(img.Rect)
	}
	sub := make([]byte, 0, 4*r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := img.PixOffset(r.Min.X, y)
		sub = append(sub, img.Pix[o:o+4*r.Dx()]...)
	}
	meta, err := json.Marshal(protocol.ProbeMeta{Picture: protocol.MetaOf(q.pic), Face: q.f, Region: [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}})
	if err != nil {
		return nil, err
	}
	var v []float32
	_, err = q.p.do(ctx, protocol.Frame{Op: protocol.OpProbe, Meta: meta, Blob: sub}, faceres.Dim*4, func(f protocol.Frame) (err error) {
		v, err = parseProbeReply(f)
		return err
	})
	return v, err
}

// Sanitize sanitizes an upload in a worker. The decode gate (lim.Admit)
// is passed here, weighted by the pixel count the header declares (read
// by Go's memory-safe header parsers; the limit for HEIC).
func (p *Pool) Sanitize(ctx context.Context, data []byte, lim sanitize.Limits) (sanitize.Result, error) {
	if lim.Admit != nil {
		px := lim.MaxPixels
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
			px = min(px, int64(cfg.Width)*int64(cfg.Height))
		}
		release, err := lim.Admit(px)
		if err != nil {
			return sanitize.Result{}, err
		}
		defer release()
	}
	meta, err := json.Marshal(protocol.SanitizeMeta{MaxPixels: lim.MaxPixels, MaxDecodeBytes: lim.MaxDecodeBytes})
	if err != nil {
		return sanitize.Result{}, err
	}
	maxOut := 2*len(data) + 64<<20 // a re-encoded JPEG of HEIC or a rotation
	var res sanitize.Result
	_, err = p.do(ctx, protocol.Frame{Op: protocol.OpSanitize, Meta: meta, Blob: data}, int64(maxOut), func(f protocol.Frame) (err error) {
		res, err = parseSanitizeReply(f, lim, maxOut)
		return err
	})
	return res, err
}
