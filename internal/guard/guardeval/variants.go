package guardeval

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"

	xdraw "golang.org/x/image/draw"
)

// Variant is one degraded copy of a photo, encoded as an app would upload
// it.
type Variant struct {
	Name string
	Data []byte
}

// Variants returns the degraded copies of src that real libraries hold:
// the original re-encoded at JPEG 90, downscaled so the long side is each
// of sides (only below the original's; JPEG 85), JPEG 40 and 60,
// greyscale (JPEG 90), and a half-size PNG screenshot.
func Variants(src image.Image, sides []int) ([]Variant, error) {
	var out []Variant
	add := func(name string, img image.Image, q int) error {
		var buf bytes.Buffer
		var err error
		if q == 0 {
			err = png.Encode(&buf, img)
		} else {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: q})
		}
		if err != nil {
			return fmt.Errorf("variant %s: %w", name, err)
		}
		out = append(out, Variant{Name: name, Data: buf.Bytes()})
		return nil
	}
	b := src.Bounds()
	long := max(b.Dx(), b.Dy())
	if err := add("q90", src, 90); err != nil {
		return nil, err
	}
	for _, s := range sides {
		if s >= long {
			continue
		}
		if err := add(fmt.Sprintf("px%d", s), Scale(src, float64(s)/float64(long)), 85); err != nil {
			return nil, err
		}
	}
	for _, q := range []int{40, 60} {
		if err := add(fmt.Sprintf("q%d", q), src, q); err != nil {
			return nil, err
		}
	}
	grey := image.NewGray(b)
	xdraw.Draw(grey, b, src, b.Min, xdraw.Src)
	if err := add("grey", grey, 90); err != nil {
		return nil, err
	}
	if err := add("png-half", Scale(src, 0.5), 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Scale resizes src by f (Catmull-Rom, as image editors downscale).
func Scale(src image.Image, f float64) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*f+0.5)), max(1, int(float64(b.Dy())*f+0.5))))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src, b, xdraw.Src, nil)
	return dst
}

// Harsher returns further degraded copies of src that real libraries also
// hold and the guard must not flag: JPEG 30, a light blur (3×3 box, as a
// messenger's preview or a slightly soft focus), sensor-like noise (±σ 6
// per channel, seeded), and a centre crop to 70% (a reframed photo).
func Harsher(src image.Image, seed uint64) ([]Variant, error) {
	b := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(rgba, rgba.Rect, src, b.Min, xdraw.Src)
	var out []Variant
	add := func(name string, img image.Image, q int) error {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return fmt.Errorf("variant %s: %w", name, err)
		}
		out = append(out, Variant{Name: name, Data: buf.Bytes()})
		return nil
	}
	if err := add("q30", rgba, 30); err != nil {
		return nil, err
	}
	if err := add("blur", boxBlur(rgba), 90); err != nil {
		return nil, err
	}
	if err := add("noise", noisy(rgba, seed), 90); err != nil {
		return nil, err
	}
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	crop := rgba.SubImage(image.Rect(w*15/100, h*15/100, w*85/100, h*85/100))
	if err := add("crop70", crop, 85); err != nil {
		return nil, err
	}
	return out, nil
}

// boxBlur is a 3×3 mean filter (edge pixels repeated).
func boxBlur(src *image.RGBA) *image.RGBA {
	r := src.Rect
	out := image.NewRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			var s [3]int
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					o := src.PixOffset(min(max(x+dx, r.Min.X), r.Max.X-1), min(max(y+dy, r.Min.Y), r.Max.Y-1))
					s[0], s[1], s[2] = s[0]+int(src.Pix[o]), s[1]+int(src.Pix[o+1]), s[2]+int(src.Pix[o+2])
				}
			}
			o := out.PixOffset(x, y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = uint8((s[0]+4)/9), uint8((s[1]+4)/9), uint8((s[2]+4)/9), 255
		}
	}
	return out
}

// noisy adds Gaussian noise of σ 6 to every channel, from a seeded source.
func noisy(src *image.RGBA, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 6))
	out := &image.RGBA{Pix: slices.Clone(src.Pix), Stride: src.Stride, Rect: src.Rect}
	for i := range out.Pix {
		if i%4 == 3 {
			continue
		}
		out.Pix[i] = uint8(min(255, max(0, math.Round(float64(out.Pix[i])+6*rng.NormFloat64()))))
	}
	return out
}
