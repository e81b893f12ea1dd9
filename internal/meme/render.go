package meme

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/obscuraproject/obscura/internal/fault"
)

// The caption font is Go Bold (golang.org/x/image/font/gofont/gobold, the
// Go font family by Bigelow & Holmes, BSD-3-Clause licence: see
// library/FONT-LICENSE), pinned by the module version in go.sum and by
// this SHA-256 of its TTF bytes, checked before it is parsed. It covers
// Latin, Greek and Cyrillic (WGL4); a caption with a character it cannot
// draw is refused (ErrGlyph), never rendered with missing glyphs.
const FontSHA256 = "c18494baa7ea35b8dbfac3861787d360b9c0ab91232562371a09e6fbf09aaa40"

// FontName names the caption font.
const FontName = "Go Bold"

// ErrGlyph reports a caption with a character the font cannot draw.
var ErrGlyph = fault.New(fault.Invalid, "the caption has characters the caption font (Go Bold: Latin, Greek, Cyrillic) cannot draw")

// Rendering bounds.
const (
	// MaxSide is the long side of a rendered meme (a 12 MP photo is
	// scaled down: a meme is for sharing, and the draft holds no more of
	// the photo than it needs).
	MaxSide = 1280
	// JPEGQuality of the rendered draft.
	JPEGQuality = 88
	// maxLines per caption block.
	maxLines = 3
)

// Renderer draws captions on photos. It is safe for concurrent use.
type Renderer struct {
	font *sfnt.Font
}

// NewRenderer verifies and parses the pinned font.
func NewRenderer() (*Renderer, error) {
	sum := sha256.Sum256(gobold.TTF)
	if hex.EncodeToString(sum[:]) != FontSHA256 {
		return nil, fmt.Errorf("caption font: SHA-256 %x does not match the pinned %s", sum, FontSHA256)
	}
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("caption font: %w", err)
	}
	return &Renderer{font: f}, nil
}

// Covers reports whether the font can draw every character of s (spaces
// and control characters aside).
func (r *Renderer) Covers(s string) bool {
	var buf sfnt.Buffer
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			continue
		}
		if gi, err := r.font.GlyphIndex(&buf, c); err != nil || gi == 0 {
			return false
		}
	}
	return true
}

// Render draws the classic meme caption on src — top and bottom blocks,
// upper case, white fill with a black outline, word-wrapped and sized to
// fit — scaled to at most MaxSide, and returns a baseline JPEG with no
// metadata segments at all (image/jpeg writes none). Nothing touches disk.
func (r *Renderer) Render(src image.Image, top, bottom string) ([]byte, error) {
	top, bottom = strings.ToUpper(strings.TrimSpace(top)), strings.ToUpper(strings.TrimSpace(bottom))
	if !r.Covers(top) || !r.Covers(bottom) {
		return nil, ErrGlyph
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fault.New(fault.Invalid, "empty image")
	}
	if s := max(w, h); s > MaxSide {
		w, h = max(1, w*MaxSide/s), max(1, h*MaxSide/s)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	for i, text := range []string{top, bottom} {
		if text == "" {
			continue
		}
		if err := r.block(dst, text, i == 1); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return nil, fmt.Errorf("encode meme: %w", err)
	}
	clear(dst.Pix)
	return out.Bytes(), nil
}

// block draws one caption block at the top or bottom of dst.
func (r *Renderer) block(dst *image.RGBA, text string, bottom bool) error {
	w, h := dst.Bounds().Dx(), dst.Bounds().Dy()
	margin := max(2, w/40)
	maxW := w - 2*margin
	maxH := h * 28 / 100
	var face font.Face
	var lines []string
	// Largest size (from an eighth of the height down) at which the
	// wrapped text fits in maxLines lines of maxW and a block of maxH.
	for size := max(8.0, float64(h)/8); size >= 6; size *= 0.9 {
		f, err := opentype.NewFace(r.font, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return fmt.Errorf("caption face: %w", err)
		}
		ls, ok := wrap(f, text, maxW)
		lh := f.Metrics().Height.Ceil()
		if ok && len(ls) <= maxLines && lh*len(ls) <= maxH {
			face, lines = f, ls
			break
		}
		f.Close()
	}
	if face == nil {
		return fault.New(fault.Invalid, "the caption is too long for the photo")
	}
	defer face.Close()
	m := face.Metrics()
	lh := m.Height.Ceil()
	y0 := margin + m.Ascent.Ceil()
	if bottom {
		y0 = h - margin - lh*len(lines) + m.Ascent.Ceil()
	}
	// The text's coverage as a mask over the block's band only; the
	// outline is that mask dilated by rad (a separable max filter: a
	// square pen), drawn in black, then the mask itself in white.
	rad := max(1, int(float64(m.Height.Ceil())/14))
	top := max(0, y0-m.Ascent.Ceil()-rad)
	band := image.Rect(0, top, w, min(h, y0+(len(lines)-1)*lh+m.Descent.Ceil()+rad+1))
	mask := image.NewAlpha(band)
	for i, l := range lines {
		d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face}
		adv := d.MeasureString(l).Ceil()
		d.Dot = fixed.P((w-adv)/2, y0+i*lh)
		d.DrawString(l)
	}
	outline := dilate(mask, rad)
	draw.DrawMask(dst, band, image.NewUniform(color.Black), image.Point{}, outline, band.Min, draw.Over)
	draw.DrawMask(dst, band, image.NewUniform(color.White), image.Point{}, mask, band.Min, draw.Over)
	return nil
}

// dilate returns m with each pixel the maximum of its (2r+1)² square
// neighbourhood: a horizontal then a vertical running maximum.
func dilate(m *image.Alpha, r int) *image.Alpha {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	tmp := make([]uint8, w*h)
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+w]
		for x := range w {
			var mx uint8
			for k := max(0, x-r); k <= min(w-1, x+r); k++ {
				mx = max(mx, row[k])
			}
			tmp[y*w+x] = mx
		}
	}
	out := image.NewAlpha(b)
	for x := range w {
		for y := range h {
			var mx uint8
			for k := max(0, y-r); k <= min(h-1, y+r); k++ {
				mx = max(mx, tmp[k*w+x])
			}
			out.Pix[y*out.Stride+x] = mx
		}
	}
	return out
}

// wrap breaks text into lines no wider than maxW; ok is false when a
// single word is wider.
func wrap(f font.Face, text string, maxW int) (lines []string, ok bool) {
	d := font.Drawer{Face: f}
	var cur string
	for _, word := range strings.Fields(text) {
		if d.MeasureString(word).Ceil() > maxW {
			return nil, false
		}
		next := word
		if cur != "" {
			next = cur + " " + word
		}
		if d.MeasureString(next).Ceil() <= maxW {
			cur = next
			continue
		}
		lines = append(lines, cur)
		cur = word
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, true
}
