package protocol

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// The JSON metas of the ops (docs/spec/worker-v1.md, "Ops").

// MaxRequestBlob bounds a request's blob as a worker reads it (an upload
// is at most 100 MiB; pixels of a 50 MP picture 200 MB).
const MaxRequestBlob = 256 << 20

// ErrorMeta is an error reply's meta.
type ErrorMeta struct {
	// Code: "invalid", "too_large", "unsupported", "feature",
	// "unavailable", "not_kept", "other".
	Code    string `json:"code"`
	Message string `json:"message"`
}

// PictureMeta describes a picture whose RGBA pixels are the frame's blob.
type PictureMeta struct {
	Width  int `json:"width"`  // full-size upright width
	Height int `json:"height"` // full-size upright height
	RGBW   int `json:"rgb_w"`  // decoded pixels' width
	RGBH   int `json:"rgb_h"`  // decoded pixels' height
}

// MetaOf describes p.
func MetaOf(p *picture.Picture) PictureMeta {
	return PictureMeta{Width: p.Width, Height: p.Height, RGBW: p.RGB.Rect.Dx(), RGBH: p.RGB.Rect.Dy()}
}

// DecodeMeta is OpDecode's request meta.
type DecodeMeta struct {
	// Full decodes at full size (a plugin's output replaces the photo).
	Full bool `json:"full,omitempty"`
	// Keep asks the worker to keep the decoded picture under this id for
	// the request's later model passes.
	Keep string `json:"keep,omitempty"`
}

// DecodeReplyMeta is OpDecode's reply meta: the picture, and whether the
// worker kept it.
type DecodeReplyMeta struct {
	PictureMeta
	Kept bool `json:"kept,omitempty"`
}

// AnalyzeMeta is OpAnalyze's request meta. With Ref the blob is empty
// and the worker reads the picture it kept under that id.
type AnalyzeMeta struct {
	Picture  PictureMeta `json:"picture"`
	Features []string    `json:"features"`
	Ref      string      `json:"ref,omitempty"`
}

// EmbedMeta is OpEmbed's request meta: the picture, and Ref as in
// AnalyzeMeta.
type EmbedMeta struct {
	PictureMeta
	Ref string `json:"ref,omitempty"`
}

// EmbedReplyMeta is OpEmbed's reply meta; the vectors are the blob,
// len(Faces)×arcface.Dim little-endian float32.
type EmbedReplyMeta struct {
	Faces []blazeface.Face `json:"faces"`
}

// ProbeMeta is OpProbe's request meta: the photo's geometry, the face,
// and the region whose pixels are the blob.
type ProbeMeta struct {
	Picture PictureMeta    `json:"picture"`
	Face    blazeface.Face `json:"face"`
	Region  [4]int         `json:"region"` // x0, y0, x1, y1 in decoded pixels
}

// SanitizeMeta is OpSanitize's request meta.
type SanitizeMeta struct {
	MaxPixels      int64 `json:"max_pixels"`
	MaxDecodeBytes int64 `json:"max_decode_bytes"`
}

// SanitizeReplyMeta is OpSanitize's reply meta; the blob is the photo.
type SanitizeReplyMeta struct {
	Format      sanitize.Format `json:"format"`
	Width       int             `json:"width"`
	Height      int             `json:"height"`
	Orientation int             `json:"orientation"`
	Reencoded   bool            `json:"reencoded"`
}

// DropMeta is OpDrop's request meta.
type DropMeta struct {
	IDs []string `json:"ids"`
}

// Hello is what a worker reports once ready; the supervisor checks it
// against the protections it asked for (the worker has read no untrusted
// byte yet, so it is still telling the truth).
type Hello struct {
	PID      int  `json:"pid"`
	UID      int  `json:"uid"`
	Landlock bool `json:"landlock"`
	Seccomp  bool `json:"seccomp"`
	Models   bool `json:"models"`
}

// StrictJSON decodes a JSON object into v, refusing unknown fields and
// trailing data.
func StrictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// Pixels returns rgb's RGBA bytes, row after row without padding.
func Pixels(rgb *image.RGBA) []byte {
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

// AppendVector appends v as little-endian float32.
func AppendVector(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// KeepIDLen is the length of a keep id: 16 random bytes in hex.
const KeepIDLen = 32

// NewKeepID draws a keep id.
func NewKeepID() string {
	var b [KeepIDLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// CheckKeepID requires a well-formed keep id (lowercase hex).
func CheckKeepID(id string) error {
	if len(id) != KeepIDLen {
		return fmt.Errorf("keep id of %d bytes", len(id))
	}
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return errors.New("keep id is not lowercase hex")
		}
	}
	return nil
}
