// Package picture decodes untrusted image bytes (JPEG, PNG, WebP, HEIC) into
// upright RGB pixels for the vision models, and resizes and crops them.
//
// It protects against decompression bombs (dimensions are read and checked
// against a pixel budget before any pixel is decoded), decoder panics
// (recovered into errors) and wasted work: JPEG, by far the most common
// photo format, is decoded by libjpeg-turbo with DCT scaling, so a 12 MP
// photo needed at 1280 pixels is decoded at a quarter or half of its size
// instead of in full. EXIF orientation is applied after decoding, so boxes
// are in the pixels of the upright image.
//
// It does not strip metadata or store anything: that is package sanitize,
// on ingest.
package picture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/png" // registers PNG for image.Decode
	"math"

	"github.com/gen2brain/heic"
	_ "golang.org/x/image/webp" // registers WebP for image.Decode

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sanitize"
)

// Errors.
var (
	ErrInvalid  = fault.New(fault.Invalid, "not a decodable image")
	ErrTooLarge = fault.New(fault.TooLarge, "image dimensions over the pixel limit")
)

// Options bound and size a decode.
type Options struct {
	// MaxPixels is the largest width×height accepted (checked before decoding).
	MaxPixels int64
	// MaxDecodeBytes bounds the decoded size of images decoded in full
	// (all but JPEG, which is decoded scaled): width × height × bytes per
	// pixel from the header (sanitize.DecodedBytes); 0 means
	// sanitize.DefaultMaxDecodeBytes.
	MaxDecodeBytes int64
	// MinSide asks for at least this many pixels on the long side; larger
	// JPEGs are decoded at the smallest DCT scale that keeps it. 0 decodes
	// in full.
	MinSide int
}

// DefaultOptions accept up to 50 MP (and 200 MB of decoded pixels) and
// decode at ≥ 1280 pixels on the long side: enough for face crops of
// people at the back of a group photo.
var DefaultOptions = Options{MaxPixels: 50_000_000, MaxDecodeBytes: sanitize.DefaultMaxDecodeBytes, MinSide: 1280}

// Picture is a decoded, upright image.
type Picture struct {
	// RGB holds the pixels (possibly decoded below full size).
	RGB *image.RGBA
	// Width and Height are the full-size dimensions of the upright image;
	// Scale is Width / RGB width (≥ 1): multiply RGB coordinates by it.
	Width, Height int
	Scale         float64
}

// Decode decodes data. Any failure is ErrInvalid or ErrTooLarge, with
// detail.
func Decode(data []byte, opt Options) (p *Picture, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("decoder panic: %v: %w", r, ErrInvalid)
		}
	}()
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file: %w", ErrInvalid)
	}
	f, err := sanitize.Sniff(data)
	if err != nil {
		return nil, fmt.Errorf("unrecognised format: %w", ErrInvalid)
	}
	var cfg image.Config
	switch f {
	case sanitize.HEIC:
		cfg, err = heic.DecodeConfig(bytes.NewReader(data))
	case sanitize.JPEG:
		cfg, err = jpegConfig(data)
	default:
		cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%s header: %v: %w", f, err, ErrInvalid)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("dimensions %dx%d: %w", cfg.Width, cfg.Height, ErrInvalid)
	}
	if int64(cfg.Width)*int64(cfg.Height) > opt.MaxPixels {
		return nil, fmt.Errorf("%dx%d: %w", cfg.Width, cfg.Height, ErrTooLarge)
	}
	if f != sanitize.JPEG {
		if f == sanitize.HEIC {
			cfg.ColorModel = color.RGBAModel // libheif's output
		}
		budget := opt.MaxDecodeBytes
		if budget <= 0 {
			budget = sanitize.DefaultMaxDecodeBytes
		}
		if n := sanitize.DecodedBytes(cfg); n > budget {
			return nil, fmt.Errorf("%dx%d decodes to %d MB, over the %d MB budget: %w", cfg.Width, cfg.Height, n/1e6, budget/1e6, ErrTooLarge)
		}
	}
	var rgb *image.RGBA
	orientation := 1
	switch f {
	case sanitize.JPEG:
		rgb, err = decodeJPEG(data, cfg.Width, cfg.Height, opt.MinSide)
		orientation = sanitize.Orientation(data)
	case sanitize.HEIC:
		var img image.Image
		img, err = heic.Decode(bytes.NewReader(data)) // libheif applies irot/imir
		if err == nil {
			rgb = toRGBA(img)
		}
	default:
		var img image.Image
		img, _, err = image.Decode(bytes.NewReader(data))
		if err == nil {
			rgb = toRGBA(img)
		}
		orientation = sanitize.Orientation(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", f, err, ErrInvalid)
	}
	w, h := cfg.Width, cfg.Height
	if orientation >= 5 {
		w, h = h, w
	}
	if orientation > 1 {
		rgb = toRGBA(sanitize.Orient(rgb, orientation))
	}
	if f == sanitize.HEIC {
		w, h = rgb.Rect.Dx(), rgb.Rect.Dy()
	}
	return &Picture{RGB: rgb, Width: w, Height: h, Scale: float64(w) / float64(rgb.Rect.Dx())}, nil
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// errShortJPEG reports a JPEG without a frame header.
var errShortJPEG = errors.New("no frame header")

// jpegConfig reads a JPEG's dimensions from its SOF marker.
func jpegConfig(data []byte) (image.Config, error) {
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return image.Config{}, fmt.Errorf("no marker at %d", p)
		}
		m := data[p+1]
		if m == 0xFF {
			p++
			continue
		}
		n := int(data[p+2])<<8 | int(data[p+3])
		if n < 2 || p+2+n > len(data) {
			return image.Config{}, errShortJPEG
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if n < 8 {
				return image.Config{}, errShortJPEG
			}
			h := int(data[p+5])<<8 | int(data[p+6])
			w := int(data[p+7])<<8 | int(data[p+8])
			return image.Config{Width: w, Height: h}, nil
		}
		if m == 0xDA || m == 0xD9 {
			break
		}
		p += 2 + n
	}
	return image.Config{}, errShortJPEG
}

// Resize scales the region r of src to w×h with bilinear interpolation,
// sampling like TensorFlow's resize_bilinear without half-pixel centres
// (the convention the TF.js models were trained and are run with), and
// writes channel values into dst through put (x, y, r, g, b in 0..255).
// Pixels outside src read as 0.
func Resize(src *image.RGBA, r image.Rectangle, w, h int, put func(x, y int, r, g, b float32)) {
	resize(src, r, w, h, false, put)
}

// ResizeAlignCorners is Resize with TensorFlow's align_corners=true: the
// corner pixels of r map exactly onto the corner pixels of the output (how
// nsfwjs resizes).
func ResizeAlignCorners(src *image.RGBA, r image.Rectangle, w, h int, put func(x, y int, r, g, b float32)) {
	resize(src, r, w, h, true, put)
}

// tap is one output coordinate's two source samples along an axis: pixel
// offsets (−1 where the sample lies outside src) and the second's weight.
type tap struct {
	i0, i1 int
	d      float32
}

// taps samples n outputs over a region of length span starting at from;
// the second sample is clamped to the region's last pixel, as TF clamps.
func taps(n, from, span, lo, hi int, scale float64) []tap {
	t := make([]tap, n)
	for o := range t {
		f := float64(o) * scale
		k0 := int(math.Floor(f))
		k1 := min(k0+1, span-1)
		t[o] = tap{i0: from + k0, i1: from + k1, d: float32(f - float64(k0))}
		for _, i := range []*int{&t[o].i0, &t[o].i1} {
			if *i < lo || *i >= hi {
				*i = -1
			}
		}
	}
	return t
}

func resize(src *image.RGBA, r image.Rectangle, w, h int, align bool, put func(x, y int, r, g, b float32)) {
	if w <= 0 || h <= 0 || r.Empty() {
		return
	}
	sx := float64(r.Dx()) / float64(w)
	sy := float64(r.Dy()) / float64(h)
	if align {
		sx, sy = 0, 0
		if w > 1 {
			sx = float64(r.Dx()-1) / float64(w-1)
		}
		if h > 1 {
			sy = float64(r.Dy()-1) / float64(h-1)
		}
	}
	xs := taps(w, r.Min.X, r.Dx(), src.Rect.Min.X, src.Rect.Max.X, sx)
	ys := taps(h, r.Min.Y, r.Dy(), src.Rect.Min.Y, src.Rect.Max.Y, sy)
	for i := range xs {
		if xs[i].i0 >= 0 {
			xs[i].i0 = (xs[i].i0 - src.Rect.Min.X) * 4
		}
		if xs[i].i1 >= 0 {
			xs[i].i1 = (xs[i].i1 - src.Rect.Min.X) * 4
		}
	}
	var zero [4]uint8
	row := func(y int) []uint8 {
		if y < 0 {
			return nil
		}
		o := (y - src.Rect.Min.Y) * src.Stride
		return src.Pix[o : o+4*src.Rect.Dx()]
	}
	px := func(line []uint8, i int) []uint8 {
		if line == nil || i < 0 {
			return zero[:]
		}
		return line[i : i+3 : i+3]
	}
	for y, ty := range ys {
		top, bot := row(ty.i0), row(ty.i1)
		dy := ty.d
		for x, tx := range xs {
			p00, p01 := px(top, tx.i0), px(top, tx.i1)
			p10, p11 := px(bot, tx.i0), px(bot, tx.i1)
			dx := tx.d
			var v [3]float32
			for c := range 3 {
				a := float32(p00[c]) + (float32(p01[c])-float32(p00[c]))*dx
				b := float32(p10[c]) + (float32(p11[c])-float32(p10[c]))*dx
				v[c] = a + (b-a)*dy
			}
			put(x, y, v[0], v[1], v[2])
		}
	}
}
