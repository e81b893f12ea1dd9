package watermark

import (
	"image"
	"math"
)

// luma is an image's luma plane (JFIF weights) plus the change the mark
// makes to it.
type luma struct {
	w, h  int
	y     []float32 // original luma
	delta []float32 // added by Embed
	ycc   bool      // the source is *image.YCbCr: only Y changes
}

func newLuma(img image.Image) *luma {
	b := img.Bounds()
	l := &luma{w: b.Dx(), h: b.Dy()}
	l.y = make([]float32, l.w*l.h)
	switch m := img.(type) {
	case *image.YCbCr:
		l.ycc = true
		for y := range l.h {
			row := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
			for x := range l.w {
				l.y[y*l.w+x] = float32(row[x])
			}
		}
	case *image.RGBA:
		lumaRGBA(l, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y))
	case *image.NRGBA: // PNG without alpha decodes to RGBA or NRGBA
		lumaRGBA(l, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y))
	case *image.Gray:
		for y := range l.h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range l.w {
				l.y[y*l.w+x] = float32(row[x])
			}
		}
	default:
		for y := range l.h {
			for x := range l.w {
				r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				l.y[y*l.w+x] = (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bb)) / 257
			}
		}
	}
	return l
}

func lumaRGBA(l *luma, pix []byte, stride, off int) {
	for y := range l.h {
		row := pix[off+y*stride:]
		for x := range l.w {
			p := row[4*x:]
			l.y[y*l.w+x] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
		}
	}
}

func (l *luma) clone() *luma {
	c := *l
	c.delta = make([]float32, len(l.y))
	return &c
}

// at is the luma as it will be stored: rounded to 8 bits and clamped.
func (l *luma) at(i int) float64 {
	if l.delta == nil { // detection: the pixels as they are
		return float64(l.y[i])
	}
	v := math.Round(float64(l.y[i] + l.delta[i]))
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

// grid resamples the luma to Grid×Grid by exact area averaging: each cell
// is the mean of the image over its rectangle, pixels counted by the
// fraction of them inside. The value depends on the picture, not on its
// pixel count, so a resized copy gives (nearly) the same grid.
func (l *luma) grid() []float64 {
	wx := areaWeights(l.w)
	wy := areaWeights(l.h)
	rows := make([]float64, l.h*Grid)
	for y := range l.h {
		r := rows[y*Grid : (y+1)*Grid]
		for _, c := range wx {
			r[c.cell] += c.w * l.at(y*l.w+c.px)
		}
	}
	g := make([]float64, Grid*Grid)
	for _, c := range wy {
		src := rows[c.px*Grid : (c.px+1)*Grid]
		dst := g[c.cell*Grid : (c.cell+1)*Grid]
		for x := range Grid {
			dst[x] += c.w * src[x]
		}
	}
	return g
}

// contribution says that pixel px covers fraction w of cell's width.
type contribution struct {
	px, cell int
	w        float64
}

// areaWeights maps n pixels onto Grid cells: each cell spans n/Grid pixels.
func areaWeights(n int) []contribution {
	var out []contribution
	span := float64(n) / Grid
	for c := range Grid {
		lo, hi := float64(c)*span, float64(c+1)*span
		for px := int(lo); px < n && float64(px) < hi; px++ {
			ov := math.Min(hi, float64(px+1)) - math.Max(lo, float64(px))
			if ov > 0 {
				out = append(out, contribution{px, c, ov / span})
			}
		}
	}
	return out
}

// addUpsampled adds a Grid×Grid pattern, bilinearly upsampled, to delta.
func (l *luma) addUpsampled(p []float64) {
	x0 := make([]int, l.w)
	ax := make([]float64, l.w)
	for x := range l.w {
		f := (float64(x)+0.5)*Grid/float64(l.w) - 0.5
		f = math.Max(0, math.Min(Grid-1, f))
		x0[x] = min(int(f), Grid-2)
		ax[x] = f - float64(x0[x])
	}
	for y := range l.h {
		f := (float64(y)+0.5)*Grid/float64(l.h) - 0.5
		f = math.Max(0, math.Min(Grid-1, f))
		y0 := min(int(f), Grid-2)
		ay := f - float64(y0)
		r0, r1 := p[y0*Grid:], p[(y0+1)*Grid:]
		d := l.delta[y*l.w:]
		for x := range l.w {
			a := ax[x]
			i := x0[x]
			top := r0[i]*(1-a) + r0[i+1]*a
			bot := r1[i]*(1-a) + r1[i+1]*a
			d[x] += float32(top*(1-ay) + bot*ay)
		}
	}
}

// image renders the marked image from the original.
func (l *luma) image(orig image.Image) image.Image {
	b := orig.Bounds()
	if src, ok := orig.(*image.YCbCr); ok {
		out := image.NewYCbCr(image.Rect(0, 0, l.w, l.h), src.SubsampleRatio)
		for y := range l.h {
			copy(out.Y[y*out.YStride:y*out.YStride+l.w], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):])
		}
		for y := range l.h {
			for x := range l.w {
				out.Y[y*out.YStride+x] = uint8(l.at(y*l.w + x))
			}
		}
		for y := 0; y < l.h; y++ {
			ci := out.COffset(0, y)
			si := src.COffset(b.Min.X, b.Min.Y+y)
			cw := out.COffset(l.w-1, y) - ci + 1
			copy(out.Cb[ci:ci+cw], src.Cb[si:si+cw])
			copy(out.Cr[ci:ci+cw], src.Cr[si:si+cw])
		}
		return out
	}
	out := toRGBA(orig)
	if out == orig {
		out = toRGBA(image.Image(struct{ image.Image }{orig}))
	}
	for y := range l.h {
		row := out.Pix[y*out.Stride:]
		for x := range l.w {
			d := float64(l.delta[y*l.w+x])
			p := row[4*x:]
			for c := range 3 {
				p[c] = uint8(math.Max(0, math.Min(255, math.Round(float64(p[c])+d))))
			}
		}
	}
	return out
}
