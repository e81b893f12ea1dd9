// Package worker is the sandboxed worker process (`obscura worker`,
// hidden): it confines itself (Landlock, rlimits, a separate uid,
// seccomp-bpf; confine_linux.go), loads the models, and answers the
// supervisor's frames (package sandbox/protocol) one at a time on its
// stdin and stdout: decode, sanitize, analyze, embed, probe, and the
// pictures it keeps for a request's model passes (kept.go).
//
// Everything here runs on attacker-chosen bytes and is assumed
// compromisable: it holds no key, no database handle, no data directory
// and no network, and the supervisor checks everything it answers
// (package sandbox). What it protects against and what it does not is in
// package sandbox's documentation and docs/threat-model.md.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

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
	Test func(meta, blob []byte) protocol.Frame

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
		req, err := protocol.ReadFrameInto(r, protocol.MaxRequestBlob, &buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := protocol.WriteFrame(w, wk.handle(ctx, req)); err != nil {
			return err
		}
	}
}

// errorFrame is the error reply for err.
func errorFrame(op protocol.Op, err error) protocol.Frame {
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
	meta, _ := json.Marshal(protocol.ErrorMeta{Code: code, Message: err.Error()})
	return protocol.Frame{Op: op, Status: protocol.StatusErr, Meta: meta}
}

var errNoEngine = errors.New("no models loaded in this worker")

func (wk *Worker) handle(ctx context.Context, req protocol.Frame) (f protocol.Frame) {
	defer func() {
		// A decoder or model panic is answered as an error; the process
		// (which holds nothing else) carries on.
		if r := recover(); r != nil {
			f = errorFrame(req.Op, fmt.Errorf("panic: %v", r))
		}
	}()
	var err error
	switch req.Op {
	case protocol.OpDecode:
		f, err = wk.decode(req)
	case protocol.OpAnalyze:
		f, err = wk.analyze(ctx, req)
	case protocol.OpEmbed:
		f, err = wk.embed(ctx, req)
	case protocol.OpProbe:
		f, err = wk.probe(ctx, req)
	case protocol.OpSanitize:
		f, err = wk.sanitize(req)
	case protocol.OpDrop:
		f, err = wk.drop(req)
	case protocol.OpTest:
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

func (wk *Worker) decode(req protocol.Frame) (protocol.Frame, error) {
	var m protocol.DecodeMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	opt := wk.Decode
	if m.Full {
		opt.MinSide = 0
	}
	if m.Keep != "" {
		if err := protocol.CheckKeepID(m.Keep); err != nil {
			return protocol.Frame{}, err
		}
	}
	p, err := picture.Decode(req.Blob, opt)
	if err != nil {
		return protocol.Frame{}, err
	}
	p.RGB = &image.RGBA{Pix: protocol.Pixels(p.RGB), Stride: 4 * p.RGB.Rect.Dx(), Rect: image.Rect(0, 0, p.RGB.Rect.Dx(), p.RGB.Rect.Dy())}
	out := protocol.DecodeReplyMeta{PictureMeta: protocol.MetaOf(p)}
	if m.Keep != "" {
		out.Kept = wk.kept.put(m.Keep, p)
	}
	meta, err := json.Marshal(out)
	return protocol.Frame{Meta: meta, Blob: p.RGB.Pix}, err
}

// pictureOf is the picture a model request names: the kept one when it
// has a ref (the blob must then be empty), else the one it carries; with
// no models loaded, there is nothing to run it through.
func (wk *Worker) pictureOf(m protocol.PictureMeta, ref string, blob []byte) (*picture.Picture, error) {
	var p *picture.Picture
	switch {
	case ref == "":
		var err error
		if p, err = requestPicture(m, blob); err != nil {
			return nil, err
		}
	case len(blob) != 0:
		return nil, errors.New("a request naming a kept picture carries pixels")
	default:
		if p = wk.kept.get(ref); p == nil {
			return nil, errNotKept
		}
		if protocol.MetaOf(p) != m {
			return nil, fmt.Errorf("kept picture %+v, request says %+v", protocol.MetaOf(p), m)
		}
	}
	if wk.Engine == nil { // after the lookup: a test worker still answers not_kept
		return nil, errNoEngine
	}
	return p, nil
}

func (wk *Worker) drop(req protocol.Frame) (protocol.Frame, error) {
	var m protocol.DropMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	wk.kept.drop(m.IDs...)
	return protocol.Frame{}, nil
}

// requestPicture rebuilds a picture sent by the server (trusted, but
// still checked: a mismatch is a bug, not a crash).
func requestPicture(m protocol.PictureMeta, blob []byte) (*picture.Picture, error) {
	if m.Width <= 0 || m.Height <= 0 || m.RGBW <= 0 || m.RGBH <= 0 || m.RGBW > m.Width || m.RGBH > m.Height ||
		int64(len(blob)) != 4*int64(m.RGBW)*int64(m.RGBH) {
		return nil, fmt.Errorf("picture %dx%d decoded %dx%d with %d bytes", m.Width, m.Height, m.RGBW, m.RGBH, len(blob))
	}
	rgb := &image.RGBA{Pix: blob, Stride: 4 * m.RGBW, Rect: image.Rect(0, 0, m.RGBW, m.RGBH)}
	return &picture.Picture{RGB: rgb, Width: m.Width, Height: m.Height, Scale: float64(m.Width) / float64(m.RGBW)}, nil
}

func (wk *Worker) analyze(ctx context.Context, req protocol.Frame) (protocol.Frame, error) {
	var m protocol.AnalyzeMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	p, err := wk.pictureOf(m.Picture, m.Ref, req.Blob)
	if err != nil {
		return protocol.Frame{}, err
	}
	res, err := wk.Engine.AnalyzePicture(ctx, p, m.Features)
	if err != nil {
		return protocol.Frame{}, err
	}
	meta, err := json.Marshal(res)
	return protocol.Frame{Meta: meta}, err
}

func (wk *Worker) embed(ctx context.Context, req protocol.Frame) (protocol.Frame, error) {
	var m protocol.EmbedMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	p, err := wk.pictureOf(m.PictureMeta, m.Ref, req.Blob)
	if err != nil {
		return protocol.Frame{}, err
	}
	es, err := wk.Engine.Embeddings(ctx, p)
	if err != nil {
		return protocol.Frame{}, err
	}
	out := protocol.EmbedReplyMeta{Faces: make([]blazeface.Face, len(es))}
	var blob []byte
	for i, e := range es {
		out.Faces[i] = e.Face
		blob = protocol.AppendVector(blob, e.Vector)
	}
	meta, err := json.Marshal(out)
	return protocol.Frame{Meta: meta, Blob: blob}, err
}

func (wk *Worker) probe(ctx context.Context, req protocol.Frame) (protocol.Frame, error) {
	if wk.Engine == nil {
		return protocol.Frame{}, errNoEngine
	}
	var m protocol.ProbeMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	r := image.Rect(m.Region[0], m.Region[1], m.Region[2], m.Region[3])
	if r.Empty() || int64(len(req.Blob)) != int64(r.Dx())*int64(r.Dy())*4 {
		return protocol.Frame{}, fmt.Errorf("probe region %v with %d bytes", r, len(req.Blob))
	}
	// The region's pixels at their place in the photo: everything outside
	// reads as 0, which the crop never reads.
	img := &image.RGBA{Pix: req.Blob, Stride: 4 * r.Dx(), Rect: r}
	full := &image.RGBA{Rect: image.Rect(0, 0, m.Picture.RGBW, m.Picture.RGBH)}
	p := &picture.Picture{RGB: full, Width: m.Picture.Width, Height: m.Picture.Height, Scale: float64(m.Picture.Width) / float64(m.Picture.RGBW)}
	v, err := wk.Engine.FaceProbe(p, m.Face).Embed(ctx, img)
	if err != nil {
		return protocol.Frame{}, err
	}
	return protocol.Frame{Blob: protocol.AppendVector(nil, v)}, nil
}

func (wk *Worker) sanitize(req protocol.Frame) (protocol.Frame, error) {
	var m protocol.SanitizeMeta
	if err := protocol.StrictJSON(req.Meta, &m); err != nil {
		return protocol.Frame{}, err
	}
	res, err := sanitize.Sanitize(req.Blob, sanitize.Limits{MaxPixels: m.MaxPixels, MaxDecodeBytes: m.MaxDecodeBytes})
	if err != nil {
		return protocol.Frame{}, err
	}
	meta, err := json.Marshal(protocol.SanitizeReplyMeta{Format: res.Format, Width: res.Width, Height: res.Height, Orientation: res.Orientation, Reencoded: res.Reencoded})
	return protocol.Frame{Meta: meta, Blob: res.Data}, err
}
