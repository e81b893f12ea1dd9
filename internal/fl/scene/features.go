package scene

import (
	"image"
	"math"
)

// FeatureLen is the length of Features' vector.
const FeatureLen = 16*16 + 16 + 8 + 4 + 3

// Classes are the scene task's labels, in output order.
var Classes = []string{"document", "screenshot", "photo"}

// Features describes a decoded picture for the scene task with what it
// costs a device nothing to compute next to decoding: a 16×16 grey
// thumbnail (area average), a 16-bin grey histogram, an 8-bin saturation
// histogram, the share of strong and weak horizontal and vertical edges,
// the share of pixels equal to their right neighbour (flat regions), the
// number of distinct 15-bit colours (log-scaled) and the aspect ratio.
// Every value is in [0, 1]. The image is sampled on a grid of at most
// 256×256 points, so the cost is bounded whatever its size.
func Features(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, FeatureLen)
	if w < 2 || h < 2 {
		return out
	}
	gw, gh := min(w, 256), min(h, 256)
	grey := make([]float64, gw*gh)
	sat := make([]float64, gw*gh)
	colours := map[uint16]struct{}{}
	for y := 0; y < gh; y++ {
		sy := b.Min.Y + y*h/gh
		for x := 0; x < gw; x++ {
			r16, g16, b16, _ := img.At(b.Min.X+x*w/gw, sy).RGBA()
			r, g, bl := float64(r16)/65535, float64(g16)/65535, float64(b16)/65535
			grey[y*gw+x] = 0.299*r + 0.587*g + 0.114*bl
			mx, mn := math.Max(r, math.Max(g, bl)), math.Min(r, math.Min(g, bl))
			if mx > 0 {
				sat[y*gw+x] = (mx - mn) / mx
			}
			colours[uint16(r16>>11)<<10|uint16(g16>>11)<<5|uint16(b16>>11)] = struct{}{}
		}
	}
	// Thumbnail.
	for ty := 0; ty < 16; ty++ {
		for tx := 0; tx < 16; tx++ {
			var s float64
			n := 0
			for y := ty * gh / 16; y < (ty+1)*gh/16; y++ {
				for x := tx * gw / 16; x < (tx+1)*gw/16; x++ {
					s += grey[y*gw+x]
					n++
				}
			}
			if n > 0 {
				out[ty*16+tx] = float32(s / float64(n))
			}
		}
	}
	o := 256
	total := float64(gw * gh)
	for i := range grey {
		out[o+min(int(grey[i]*16), 15)] += float32(1 / total)
		out[o+16+min(int(sat[i]*8), 7)] += float32(1 / total)
	}
	o += 24
	var hs, hw, vs, vw, flat float64
	for y := 0; y < gh-1; y++ {
		for x := 0; x < gw-1; x++ {
			g := grey[y*gw+x]
			dx, dy := math.Abs(grey[y*gw+x+1]-g), math.Abs(grey[(y+1)*gw+x]-g)
			switch {
			case dx > 0.3:
				hs++
			case dx > 0.05:
				hw++
			}
			switch {
			case dy > 0.3:
				vs++
			case dy > 0.05:
				vw++
			}
			if dx == 0 {
				flat++
			}
		}
	}
	inner := float64((gw - 1) * (gh - 1))
	out[o], out[o+1], out[o+2], out[o+3] = float32(hs/inner), float32(hw/inner), float32(vs/inner), float32(vw/inner)
	out[o+4] = float32(flat / inner)
	out[o+5] = float32(math.Log1p(float64(len(colours))) / math.Log1p(32768))
	out[o+6] = float32(float64(w) / float64(w+h))
	return out
}
