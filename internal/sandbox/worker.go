package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// MaxRequestBlob bounds a request's blob as a worker reads it (an upload
// is at most 100 MiB; pixels of a 50 MP picture 200 MB).
const MaxRequestBlob = 256 << 20

// Engine is what a worker runs the model ops on: the loaded
// *vision.Engine in production.
type Engine interface {
	AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
	Embeddings(ctx context.Context, p *picture.Picture) ([]vision.Embedding, error)
	FaceProbe(p *picture.Picture, f blazeface.Face) vision.FaceProbe
}

// Worker answers requests inside the sandboxed process.
type Worker struct {
	// Engine runs the models (nil: model ops answer "unavailable").
	Engine Engine
	// Decode bounds and sizes picture decoding.
	Decode picture.Options
	// Test answers OpTest; nil (production) refuses it.
	Test func(meta, blob []byte) Frame

	// kept are the pictures decodes were asked to keep (keep.go).
	kept keptSet
}

// Serve answers frames from r on w, one at a time, until r ends.
//
// Requests are read into one reused buffer: a request's bytes are valid
// until its reply is written, and no handler keeps them past that.
func (wk *Worker) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	var buf []byte
	for {
		req, err := readFrame(r, MaxRequestBlob, &buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := WriteFrame(w, wk.handle(ctx, req)); err != nil {
			return err
		}
	}
}

// errorFrame is the error reply for err.
func errorFrame(op Op, err error) Frame {
	code := "other"
	switch {
	case errors.Is(err, sanitize.ErrUnsupported):
		code = "unsupported"
	case errors.Is(err, picture.ErrTooLarge), errors.Is(err, sanitize.ErrTooLarge):
		code = "too_large"
	case errors.Is(err, picture.ErrInvalid), errors.Is(err, sanitize.ErrInvalid):
		code = "invalid"
	case errors.Is(err, vision.ErrFeature):
		code = "feature"
	case errors.Is(err, errNoEngine):
		code = "unavailable"
	case errors.Is(err, errNotKept):
		code = "not_kept"
	}
	meta, _ := json.Marshal(errorMeta{Code: code, Message: err.Error()})
	return Frame{Op: op, Status: statusErr, Meta: meta}
}

var errNoEngine = errors.New("no models loaded in this worker")

func (wk *Worker) handle(ctx context.Context, req Frame) (f Frame) {
	defer func() {
		// A decoder or model panic is answered as an error; the process
		// (which holds nothing else) carries on.
		if r := recover(); r != nil {
			f = errorFrame(req.Op, fmt.Errorf("panic: %v", r))
		}
	}()
	var err error
	switch req.Op {
	case OpDecode:
		f, err = wk.decode(req)
	case OpAnalyze:
		f, err = wk.analyze(ctx, req)
	case OpEmbed:
		f, err = wk.embed(ctx, req)
	case OpProbe:
		f, err = wk.probe(ctx, req)
	case OpSanitize:
		f, err = wk.sanitize(req)
	case OpDrop:
		f, err = wk.drop(req)
	case OpTest:
		if wk.Test == nil {
			err = errors.New("test hooks are not built into this worker")
			break
		}
		f = wk.Test(req.Meta, req.Blob)
	default:
		err = fmt.Errorf("unknown op %d", req.Op)
	}
	if err != nil {
		return errorFrame(req.Op, err)
	}
	f.Op = req.Op
	return f
}

// pixels returns p's RGBA bytes, row after row without padding.
func pixels(rgb *image.RGBA) []byte {
	w, h := rgb.Rect.Dx(), rgb.Rect.Dy()
	if rgb.Stride == 4*w && len(rgb.Pix) == 4*w*h {
		return rgb.Pix
	}
	out := make([]byte, 0, 4*w*h)
	for y := range h {
		o := y * rgb.Stride
		out = append(out, rgb.Pix[o:o+4*w]...)
	}
	return out
}

// decodeMeta is OpDecode's request meta.
type decodeMeta struct {
	// Full decodes at full size (a plugin's output replaces the photo).
	Full bool `json:"full,omitempty"`
	// Keep asks the worker to keep the decoded picture under this id
	// (keep.go) for the request's later model passes.
	Keep string `json:"keep,omitempty"`
}

// decodeReplyMeta is OpDecode's reply meta: the picture, and whether the
// worker kept it.
type decodeReplyMeta struct {
	pictureMeta
	Kept bool `json:"kept,omitempty"`
}

func (wk *Worker) decode(req Frame) (Frame, error) {
	var m decodeMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	opt := wk.Decode
	if m.Full {
		opt.MinSide = 0
	}
	if m.Keep != "" {
		if err := checkKeepID(m.Keep); err != nil {
			return Frame{}, err
		}
	}
	p, err := picture.Decode(req.Blob, opt)
	if err != nil {
		return Frame{}, err
	}
	p.RGB = &image.RGBA{Pix: pixels(p.RGB), Stride: 4 * p.RGB.Rect.Dx(), Rect: image.Rect(0, 0, p.RGB.Rect.Dx(), p.RGB.Rect.Dy())}
	out := decodeReplyMeta{pictureMeta: metaOf(p)}
	if m.Keep != "" {
		out.Kept = wk.kept.put(m.Keep, p)
	}
	meta, err := json.Marshal(out)
	return Frame{Meta: meta, Blob: p.RGB.Pix}, err
}

// pictureOf is the picture a model request names: the kept one when it
// has a ref (the blob must then be empty), else the one it carries.
func (wk *Worker) pictureOf(m pictureMeta, ref string, blob []byte) (*picture.Picture, error) {
	if ref == "" {
		return requestPicture(m, blob)
	}
	if len(blob) != 0 {
		return nil, errors.New("a request naming a kept picture carries pixels")
	}
	p := wk.kept.get(ref)
	if p == nil {
		return nil, errNotKept
	}
	if metaOf(p) != m {
		return nil, fmt.Errorf("kept picture %+v, request says %+v", metaOf(p), m)
	}
	return p, nil
}

// dropMeta is OpDrop's request meta.
type dropMeta struct {
	IDs []string `json:"ids"`
}

func (wk *Worker) drop(req Frame) (Frame, error) {
	var m dropMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	wk.kept.drop(m.IDs...)
	return Frame{}, nil
}

// requestPicture rebuilds a picture sent by the server (trusted, but
// still checked: a mismatch is a bug, not a crash).
func requestPicture(m pictureMeta, blob []byte) (*picture.Picture, error) {
	if err := checkPicture(m, len(blob), 1<<40); err != nil {
		return nil, err
	}
	rgb := &image.RGBA{Pix: blob, Stride: 4 * m.RGBW, Rect: image.Rect(0, 0, m.RGBW, m.RGBH)}
	return &picture.Picture{RGB: rgb, Width: m.Width, Height: m.Height, Scale: float64(m.Width) / float64(m.RGBW)}, nil
}

func (wk *Worker) analyze(ctx context.Context, req Frame) (Frame, error) {
	var m analyzeMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	p, err := wk.pictureOf(m.Picture, m.Ref, req.Blob)
	if err != nil {
		return Frame{}, err
	}
	if wk.Engine == nil {
		return Frame{}, errNoEngine
	}
	res, err := wk.Engine.AnalyzePicture(ctx, p, m.Features)
	if err != nil {
		return Frame{}, err
	}
	meta, err := json.Marshal(res)
	return Frame{Meta: meta}, err
}

func (wk *Worker) embed(ctx context.Context, req Frame) (Frame, error) {
	var m embedMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	p, err := wk.pictureOf(m.pictureMeta, m.Ref, req.Blob)
	if err != nil {
		return Frame{}, err
	}
	if wk.Engine == nil {
		return Frame{}, errNoEngine
	}
	es, err := wk.Engine.Embeddings(ctx, p)
	if err != nil {
		return Frame{}, err
	}
	out := embedReplyMeta{Faces: make([]blazeface.Face, len(es))}
	var blob []byte
	for i, e := range es {
		out.Faces[i] = e.Face
		blob = appendVector(blob, e.Vector)
	}
	meta, err := json.Marshal(out)
	return Frame{Meta: meta, Blob: blob}, err
}

func (wk *Worker) probe(ctx context.Context, req Frame) (Frame, error) {
	if wk.Engine == nil {
		return Frame{}, errNoEngine
	}
	var m probeMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	r := image.Rect(m.Region[0], m.Region[1], m.Region[2], m.Region[3])
	if r.Empty() || int64(len(req.Blob)) != int64(r.Dx())*int64(r.Dy())*4 {
		return Frame{}, fmt.Errorf("probe region %v with %d bytes", r, len(req.Blob))
	}
	// The region's pixels at their place in the photo: everything outside
	// reads as 0, which the crop never reads.
	img := &image.RGBA{Pix: req.Blob, Stride: 4 * r.Dx(), Rect: r}
	full := &image.RGBA{Rect: image.Rect(0, 0, m.Picture.RGBW, m.Picture.RGBH)}
	p := &picture.Picture{RGB: full, Width: m.Picture.Width, Height: m.Picture.Height, Scale: float64(m.Picture.Width) / float64(m.Picture.RGBW)}
	v, err := wk.Engine.FaceProbe(p, m.Face).Embed(ctx, img)
	if err != nil {
		return Frame{}, err
	}
	return Frame{Blob: appendVector(nil, v)}, nil
}

func (wk *Worker) sanitize(req Frame) (Frame, error) {
	var m sanitizeMeta
	if err := strictJSON(req.Meta, &m); err != nil {
		return Frame{}, err
	}
	res, err := sanitize.Sanitize(req.Blob, sanitize.Limits{MaxPixels: m.MaxPixels, MaxDecodeBytes: m.MaxDecodeBytes})
	if err != nil {
		return Frame{}, err
	}
	meta, err := json.Marshal(sanitizeReplyMeta{Format: res.Format, Width: res.Width, Height: res.Height, Orientation: res.Orientation, Reencoded: res.Reencoded})
	return Frame{Meta: meta, Blob: res.Data}, err
}
