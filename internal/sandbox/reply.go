package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Bounds a reply must keep. A reply outside them is a protocol violation:
// the worker is killed and the request fails closed.
const (
	// MaxFaces is the most faces a reply may report.
	MaxFaces = 256
	// MaxTextLines is the most text lines a reply may report.
	MaxTextLines = 256
	// MaxTextBytes bounds one read line.
	MaxTextBytes = 1024
)

// ErrReply reports a worker reply that is malformed or out of bounds.
var ErrReply = errors.New("worker reply out of shape or bounds")

// replyError turns an error reply into the error the caller sees. The
// worker's message is untrusted: it is kept only as the internal cause,
// printable and truncated; the public message is fixed by the code.
func replyError(f protocol.Frame, op protocol.Op) error {
	var m protocol.ErrorMeta
	if err := protocol.StrictJSON(f.Meta, &m); err != nil {
		return fmt.Errorf("error reply: %v: %w", err, ErrReply)
	}
	msg := printable(m.Message, 200)
	// The worker's error keeps its own words before the sentinel it wraps.
	as := func(sentinel error) error {
		return fmt.Errorf("%s: %w", strings.TrimSuffix(msg, ": "+sentinel.Error()), sentinel)
	}
	if op == protocol.OpSanitize {
		switch m.Code {
		case "invalid":
			return as(sanitize.ErrInvalid)
		case "too_large":
			return as(sanitize.ErrTooLarge)
		case "unsupported":
			return as(sanitize.ErrUnsupported)
		}
	}
	switch m.Code {
	case "invalid":
		return as(picture.ErrInvalid)
	case "too_large":
		return as(picture.ErrTooLarge)
	case "feature":
		return as(vision.ErrFeature)
	case "unavailable", "other":
		return fault.Wrap(fault.Unavailable, "analysis unavailable", errors.New(msg))
	case "not_kept":
		if op == protocol.OpAnalyze || op == protocol.OpEmbed {
			return errNotKept
		}
	}
	return fmt.Errorf("error code %q: %w", printable(m.Code, 32), ErrReply)
}

// printable keeps at most n bytes of s's printable ASCII.
func printable(s string, n int) string {
	out := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(out) < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}

// checkPicture checks a picture's geometry against the limits and its
// pixel count against the blob.
func checkPicture(m protocol.PictureMeta, blob int, maxPixels int64) error {
	if m.Width <= 0 || m.Height <= 0 || m.RGBW <= 0 || m.RGBH <= 0 {
		return fmt.Errorf("picture %dx%d decoded %dx%d: %w", m.Width, m.Height, m.RGBW, m.RGBH, ErrReply)
	}
	if int64(m.Width)*int64(m.Height) > maxPixels || m.RGBW > m.Width || m.RGBH > m.Height {
		return fmt.Errorf("picture %dx%d decoded %dx%d: %w", m.Width, m.Height, m.RGBW, m.RGBH, ErrReply)
	}
	// Decoded at one DCT scale (1/8…1): both sides shrink by the same factor
	// (to within the rounding up of each side).
	sx, sy := float64(m.Width)/float64(m.RGBW), float64(m.Height)/float64(m.RGBH)
	if sx > 8.5 || sy > 8.5 || math.Abs(float64(m.RGBH)*sx-float64(m.Height)) > sx+1 {
		return fmt.Errorf("picture %dx%d decoded %dx%d: inconsistent scale: %w", m.Width, m.Height, m.RGBW, m.RGBH, ErrReply)
	}
	if int64(blob) != int64(m.RGBW)*int64(m.RGBH)*4 {
		return fmt.Errorf("picture of %d bytes for %dx%d: %w", blob, m.RGBW, m.RGBH, ErrReply)
	}
	return nil
}

// parseDecodeReply turns a decode reply into a picture, and says whether
// the worker kept it (a worker asked to keep nothing must not claim to).
func parseDecodeReply(f protocol.Frame, maxPixels int64, keep bool) (*picture.Picture, bool, error) {
	var m protocol.DecodeReplyMeta
	if err := protocol.StrictJSON(f.Meta, &m); err != nil {
		return nil, false, fmt.Errorf("decode reply: %v: %w", err, ErrReply)
	}
	if m.Kept && !keep {
		return nil, false, fmt.Errorf("decode reply: kept a picture it was not asked to: %w", ErrReply)
	}
	if err := checkPicture(m.PictureMeta, len(f.Blob), maxPixels); err != nil {
		return nil, false, err
	}
	rgb := &image.RGBA{Pix: f.Blob, Stride: 4 * m.RGBW, Rect: image.Rect(0, 0, m.RGBW, m.RGBH)}
	return &picture.Picture{RGB: rgb, Width: m.Width, Height: m.Height, Scale: float64(m.Width) / float64(m.RGBW)}, m.Kept, nil
}

// unitScore reports whether s is a finite probability.
func unitScore(s float64) bool { return s >= 0 && s <= 1 }

// checkBox requires a finite box of positive size that lies within the
// image, extended by its own size on every side (a face at the edge is
// boxed partly outside the photo).
func checkBox(b geom.Rect, w, h int) bool {
	for _, v := range []float64{b.X, b.Y, b.W, b.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	W, H := float64(w), float64(h)
	return b.W > 0 && b.H > 0 && b.W <= 2*W && b.H <= 2*H && b.X >= -W && b.Y >= -H && b.X+b.W <= 2*W && b.Y+b.H <= 2*H
}

// parseAnalyzeReply checks a hardened result against the request: the
// size of the picture, exactly the requested features, bounded lists,
// labels from the models' label sets, probabilities in [0, 1].
func parseAnalyzeReply(f protocol.Frame, req protocol.PictureMeta, features []string) (*vision.Result, error) {
	var r vision.Result
	if err := protocol.StrictJSON(f.Meta, &r); err != nil {
		return nil, fmt.Errorf("analyze reply: %v: %w", err, ErrReply)
	}
	bad := func(what string) (*vision.Result, error) {
		return nil, fmt.Errorf("analyze reply: %s: %w", what, ErrReply)
	}
	if len(f.Blob) != 0 {
		return bad("unexpected blob")
	}
	if r.Width != req.Width || r.Height != req.Height {
		return bad("size differs from the request's")
	}
	has := func(s string) bool { return slices.Contains(features, s) }
	if (r.Faces != nil) != has(vision.Faces) || (r.Tags != nil) != has(vision.Tags) ||
		(r.Sensitive != nil) != has(vision.Sensitive) || (r.Text != nil) != has(vision.Text) {
		return bad("features differ from the request's")
	}
	if len(r.Faces) > MaxFaces || len(r.Tags) > vision.MaxTags || len(r.Text) > MaxTextLines {
		return bad("too many items")
	}
	for _, x := range r.Faces {
		if !unitScore(x.Score) || !checkBox(x.Box, r.Width, r.Height) {
			return bad("face out of bounds")
		}
	}
	for _, t := range r.Tags {
		if !slices.Contains(centernet.Labels[:], t.Label) || t.Score < vision.MinTagScore || !unitScore(t.Score) {
			return bad("tag out of bounds")
		}
	}
	if s := r.Sensitive; s != nil {
		if !slices.Contains([]string{nsfw.Safe, nsfw.Suggestive, nsfw.Explicit}, s.Label) || len(s.Scores) != len(nsfw.Classes) {
			return bad("rating out of bounds")
		}
		for _, c := range nsfw.Classes {
			if v, ok := s.Scores[c]; !ok || !unitScore(v) {
				return bad("rating out of bounds")
			}
		}
	}
	for _, l := range r.Text {
		if l.Text == "" || len(l.Text) > MaxTextBytes || !utf8.ValidString(l.Text) || !unitScore(l.Score) || !checkBox(l.Box, r.Width, r.Height) {
			return bad("text line out of bounds")
		}
	}
	return &r, nil
}

// readVectors splits b into n vectors of dim finite float32; unit
// requires each to have length 1 (±1e-3).
func readVectors(b []byte, n, dim int, unit bool) ([][]float32, error) {
	if len(b) != n*dim*4 {
		return nil, fmt.Errorf("%d vector bytes for %d×%d: %w", len(b), n, dim, ErrReply)
	}
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		var ss float64
		for j := range v {
			x := math.Float32frombits(binary.LittleEndian.Uint32(b[(i*dim+j)*4:]))
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("vector not finite: %w", ErrReply)
			}
			v[j] = x
			ss += float64(x) * float64(x)
		}
		if unit && math.Abs(math.Sqrt(ss)-1) > 1e-3 {
			return nil, fmt.Errorf("vector not unit length: %w", ErrReply)
		}
		out[i] = v
	}
	return out, nil
}

// parseEmbedReply checks faces and their unit identity embeddings.
func parseEmbedReply(f protocol.Frame, req protocol.PictureMeta) ([]vision.Embedding, error) {
	var m protocol.EmbedReplyMeta
	if err := protocol.StrictJSON(f.Meta, &m); err != nil {
		return nil, fmt.Errorf("embed reply: %v: %w", err, ErrReply)
	}
	if len(m.Faces) > MaxFaces {
		return nil, fmt.Errorf("embed reply: %d faces: %w", len(m.Faces), ErrReply)
	}
	for _, x := range m.Faces {
		if !unitScore(x.Score) || !checkBox(x.Box, req.Width, req.Height) {
			return nil, fmt.Errorf("embed reply: face out of bounds: %w", ErrReply)
		}
		for _, k := range x.Keypoints {
			if !checkBox(geom.Rect{X: k.X, Y: k.Y, W: 1, H: 1}, req.Width, req.Height) {
				return nil, fmt.Errorf("embed reply: keypoint out of bounds: %w", ErrReply)
			}
		}
	}
	vs, err := readVectors(f.Blob, len(m.Faces), arcface.Dim, true)
	if err != nil {
		return nil, err
	}
	out := make([]vision.Embedding, len(m.Faces))
	for i := range out {
		out[i] = vision.Embedding{Face: m.Faces[i], Vector: vs[i]}
	}
	return out, nil
}

// parseProbeReply checks one raw guard embedding (not unit length).
func parseProbeReply(f protocol.Frame) ([]float32, error) {
	if len(f.Meta) != 2 {
		return nil, fmt.Errorf("probe reply: unexpected meta: %w", ErrReply)
	}
	vs, err := readVectors(f.Blob, 1, faceres.Dim, false)
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// parseSanitizeReply checks a sanitized photo: a stored format whose
// bytes sniff as that format, dimensions within the limits, orientation
// 1–8, and no larger than maxBytes.
func parseSanitizeReply(f protocol.Frame, lim sanitize.Limits, maxBytes int) (sanitize.Result, error) {
	var m protocol.SanitizeReplyMeta
	if err := protocol.StrictJSON(f.Meta, &m); err != nil {
		return sanitize.Result{}, fmt.Errorf("sanitize reply: %v: %w", err, ErrReply)
	}
	got, err := sanitize.Sniff(f.Blob)
	switch {
	case err != nil || got != m.Format || m.Format == sanitize.HEIC:
		return sanitize.Result{}, fmt.Errorf("sanitize reply: format: %w", ErrReply)
	case m.Width <= 0 || m.Height <= 0 || int64(m.Width)*int64(m.Height) > lim.MaxPixels:
		return sanitize.Result{}, fmt.Errorf("sanitize reply: dimensions: %w", ErrReply)
	case m.Orientation < 1 || m.Orientation > 8:
		return sanitize.Result{}, fmt.Errorf("sanitize reply: orientation: %w", ErrReply)
	case len(f.Blob) > maxBytes:
		return sanitize.Result{}, fmt.Errorf("sanitize reply: %d bytes: %w", len(f.Blob), ErrReply)
	}
	return sanitize.Result{Format: m.Format, Width: m.Width, Height: m.Height, Data: f.Blob, Orientation: m.Orientation, Reencoded: m.Reencoded}, nil
}
