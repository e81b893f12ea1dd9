package squeeze

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"slices"
)

// Squeezer names one way of squeezing a face's region of a photo.
type Squeezer int

// The squeezers. The first three are Xu et al.'s; the others were added
// in session 7 and measured (docs/guards.md).
const (
	// Bits reduces every channel to BitDepth bits.
	Bits Squeezer = iota
	// Median2 is a 2×2 median filter.
	Median2
	// Median3 is a 3×3 median filter.
	Median3
	// JPEG75 re-encodes the region as JPEG at quality 75.
	JPEG75
	// Blur is a Gaussian blur of σ ≈ 0.85 (the separable [1 2 1]/4 kernel).
	Blur
	// DownUp halves the region (2×2 means) and scales it back up
	// bilinearly.
	DownUp
)

// AllSqueezers lists every squeezer, in order.
var AllSqueezers = []Squeezer{Bits, Median2, Median3, JPEG75, Blur, DownUp}

// String is the squeezer's name.
func (k Squeezer) String() string {
	switch k {
	case Bits:
		return "bits"
	case Median2:
		return "median2"
	case Median3:
		return "median3"
	case JPEG75:
		return "jpeg75"
	case Blur:
		return "blur"
	case DownUp:
		return "downup"
	}
	return fmt.Sprintf("squeezer(%d)", int(k))
}

// Squeeze returns a copy of src whose region r (clipped to src) is
// squeezed by k; pixels outside r are unchanged.
func Squeeze(src *image.RGBA, r image.Rectangle, k Squeezer) (*image.RGBA, error) {
	out := cloneRGBA(src)
	if err := squeezeInto(out, src, r.Intersect(src.Rect), k); err != nil {
		return nil, err
	}
	return out, nil
}

// squeezeInto writes region r of src, squeezed by k, into the same region
// of out (same bounds as src); out's other pixels are not touched.
func squeezeInto(out, src *image.RGBA, r image.Rectangle, k Squeezer) error {
	switch k {
	case Bits:
		squeezeRegion(out, src, r, squeezeBits)
	case Median2:
		squeezeRegion(out, src, r, squeezeMedian2)
	case Median3:
		squeezeRegion(out, src, r, squeezeMedian3)
	case JPEG75:
		return jpegRegion(out, src, r, 75)
	case Blur:
		blurRegion(out, src, r)
	case DownUp:
		downUpRegion(out, src, r)
	default:
		return fmt.Errorf("squeeze: unknown squeezer %d", int(k))
	}
	return nil
}

// Shifts is 1 − the cosine between the face's embedding (emb, or computed
// when nil) and the embedding of each squeezed copy, in the order of ks.
func Shifts(ctx context.Context, probe FaceProbe, emb []float32, ks []Squeezer) ([]float64, error) {
	src := probe.Photo()
	r := probe.Region()
	// One pixel of margin: the embedder's resampling reads neighbours.
	r = image.Rect(r.Min.X-1, r.Min.Y-1, r.Max.X+2, r.Max.Y+2).Intersect(src.Rect)
	if r.Empty() {
		return nil, fmt.Errorf("squeeze: face region outside the photo")
	}
	if emb == nil {
		var err error
		if emb, err = probe.Embed(ctx, src); err != nil {
			return nil, fmt.Errorf("squeeze: %w", err)
		}
	}
	out := make([]float64, len(ks))
	// One copy of the photo; each squeezer overwrites the face's region.
	img := cloneRGBA(src)
	for i, k := range ks {
		if err := squeezeInto(img, src, r, k); err != nil {
			return nil, err
		}
		v, err := probe.Embed(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("squeeze: %w", err)
		}
		out[i] = 1 - unitCos(emb, v)
	}
	return out, nil
}

func cloneRGBA(src *image.RGBA) *image.RGBA {
	return &image.RGBA{Pix: slices.Clone(src.Pix), Stride: src.Stride, Rect: src.Rect}
}

// jpegRegion re-encodes region r of src at quality q (aligned to the
// photo's 8×8 grid is not needed: the region is encoded on its own, as a
// crop an uploader could send).
func jpegRegion(out, src *image.RGBA, r image.Rectangle, q int) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src.SubImage(r), &jpeg.Options{Quality: q}); err != nil {
		return fmt.Errorf("squeeze: %w", err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return fmt.Errorf("squeeze: %w", err)
	}
	b := dec.Bounds()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			cr, cg, cb, _ := dec.At(b.Min.X+x, b.Min.Y+y).RGBA()
			o := out.PixOffset(r.Min.X+x, r.Min.Y+y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2] = uint8(cr>>8), uint8(cg>>8), uint8(cb>>8)
		}
	}
	return nil
}

// blurRegion blurs region r with the separable kernel [1 2 1]/4 (edges of
// the region repeated).
func blurRegion(out, src *image.RGBA, r image.Rectangle) {
	w, h := r.Dx(), r.Dy()
	tmp := make([]float64, w*h*3)
	at := func(x, y, c int) float64 {
		x, y = min(max(x, r.Min.X), r.Max.X-1), min(max(y, r.Min.Y), r.Max.Y-1)
		return float64(src.Pix[src.PixOffset(x, y)+c])
	}
	for y := range h {
		for x := range w {
			for c := range 3 {
				X, Y := r.Min.X+x, r.Min.Y+y
				tmp[(y*w+x)*3+c] = (at(X-1, Y, c) + 2*at(X, Y, c) + at(X+1, Y, c)) / 4
			}
		}
	}
	tv := func(x, y, c int) float64 {
		return tmp[(min(max(y, 0), h-1)*w+min(max(x, 0), w-1))*3+c]
	}
	for y := range h {
		for x := range w {
			o := out.PixOffset(r.Min.X+x, r.Min.Y+y)
			for c := range 3 {
				out.Pix[o+c] = uint8(math.Round((tv(x, y-1, c) + 2*tv(x, y, c) + tv(x, y+1, c)) / 4))
			}
		}
	}
}

// downUpRegion halves region r by 2×2 means and scales it back up
// bilinearly (pixel centres aligned).
func downUpRegion(out, src *image.RGBA, r image.Rectangle) {
	w, h := r.Dx(), r.Dy()
	hw, hh := max(1, (w+1)/2), max(1, (h+1)/2)
	small := make([]float64, hw*hh*3)
	for y := range hh {
		for x := range hw {
			for c := range 3 {
				var s float64
				var n int
				for dy := range 2 {
					for dx := range 2 {
						xx, yy := 2*x+dx, 2*y+dy
						if xx < w && yy < h {
							s += float64(src.Pix[src.PixOffset(r.Min.X+xx, r.Min.Y+yy)+c])
							n++
						}
					}
				}
				small[(y*hw+x)*3+c] = s / float64(n)
			}
		}
	}
	sv := func(x, y, c int) float64 {
		return small[(min(max(y, 0), hh-1)*hw+min(max(x, 0), hw-1))*3+c]
	}
	for y := range h {
		for x := range w {
			fx, fy := (float64(x)+0.5)/2-0.5, (float64(y)+0.5)/2-0.5
			x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
			ax, ay := fx-float64(x0), fy-float64(y0)
			o := out.PixOffset(r.Min.X+x, r.Min.Y+y)
			for c := range 3 {
				v := (1-ay)*((1-ax)*sv(x0, y0, c)+ax*sv(x0+1, y0, c)) + ay*((1-ax)*sv(x0, y0+1, c)+ax*sv(x0+1, y0+1, c))
				out.Pix[o+c] = uint8(math.Round(v))
			}
		}
	}
}
