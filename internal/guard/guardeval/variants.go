package guardeval

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

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
