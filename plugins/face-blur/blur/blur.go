// Package blur is the face-blur plugin's effect, kept apart from its main
// package so that the same code runs natively in tests and benchmarks.
package blur

import (
	"encoding/json"
	"errors"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

// Params are the plugin's parameters (its manifest's schema).
type Params struct {
	// Mode is "pixelate" (default) or "blur".
	Mode string `json:"mode"`
	// Margin widens each face box on every side by this fraction of its
	// size (default 0.25), so hair line, ears and chin go too.
	Margin float64 `json:"margin"`
}

// cells is how many blocks span the wider side of a redacted region when
// pixelating: few enough that no facial feature survives (eyes, nose and
// mouth fall into one or two cells each).
const cells = 5

// Apply redacts every face in r.Image in place.
func Apply(r *plugin.Request) (*plugin.Image, error) {
	p := Params{Mode: "pixelate", Margin: 0.25}
	if len(r.Params) > 0 {
		if err := json.Unmarshal(r.Params, &p); err != nil {
			return nil, errors.New("face-blur: bad parameters")
		}
	}
	if p.Margin < 0 || p.Margin > 1 {
		return nil, errors.New("face-blur: margin out of range")
	}
	im := r.Image
	for _, f := range r.Faces {
		x0, y0, x1, y1 := Region(f, p.Margin, im.Width, im.Height)
		if x1 <= x0 || y1 <= y0 {
			continue
		}
		switch p.Mode {
		case "pixelate":
			side := max(x1-x0, y1-y0)
			pixelate(im, x0, y0, x1, y1, max(4, (side+cells-1)/cells))
		case "blur":
			side := max(x1-x0, y1-y0)
			for range 3 { // three box passes approximate a Gaussian
				boxBlur(im, x0, y0, x1, y1, max(2, side/6))
			}
		default:
			return nil, errors.New("face-blur: unknown mode")
		}
	}
	return im, nil
}

// Region is the rectangle Apply redacts for face f: the box widened by
// margin on each side, clipped to the image.
func Region(f plugin.Face, margin float64, w, h int) (x0, y0, x1, y1 int) {
	mx, my := int(float64(f.W)*margin), int(float64(f.H)*margin)
	return max(0, f.X-mx), max(0, f.Y-my), min(w, f.X+f.W+mx), min(h, f.Y+f.H+my)
}

// pixelate replaces each block×block cell of the region by its mean colour.
func pixelate(im *plugin.Image, x0, y0, x1, y1, block int) {
	stride := 4 * im.Width
	for by := y0; by < y1; by += block {
		for bx := x0; bx < x1; bx += block {
			ex, ey := min(bx+block, x1), min(by+block, y1)
			var s [4]int
			n := (ex - bx) * (ey - by)
			for y := by; y < ey; y++ {
				row := im.Pix[y*stride+4*bx : y*stride+4*ex]
				for i := 0; i < len(row); i += 4 {
					s[0] += int(row[i])
					s[1] += int(row[i+1])
					s[2] += int(row[i+2])
					s[3] += int(row[i+3])
				}
			}
			c := [4]byte{byte(s[0] / n), byte(s[1] / n), byte(s[2] / n), byte(s[3] / n)}
			for y := by; y < ey; y++ {
				row := im.Pix[y*stride+4*bx : y*stride+4*ex]
				for i := 0; i < len(row); i += 4 {
					copy(row[i:i+4], c[:])
				}
			}
		}
	}
}

// boxBlur runs one horizontal and one vertical box filter of radius rad
// over the region (edges clamp to the region).
func boxBlur(im *plugin.Image, x0, y0, x1, y1, rad int) {
	w, h := x1-x0, y1-y0
	buf := make([]int, 4*max(w, h))
	out := make([]byte, 4*max(w, h))
	stride := 4 * im.Width
	line := func(at func(i int) int, n int) {
		for i := 0; i < n; i++ {
			o := at(i)
			buf[4*i], buf[4*i+1], buf[4*i+2], buf[4*i+3] = int(im.Pix[o]), int(im.Pix[o+1]), int(im.Pix[o+2]), int(im.Pix[o+3])
		}
		var s [4]int
		cnt := 0
		for i := -rad; i <= rad; i++ {
			j := min(max(i, 0), n-1)
			for c := range 4 {
				s[c] += buf[4*j+c]
			}
			cnt++
		}
		for i := 0; i < n; i++ {
			for c := range 4 {
				out[4*i+c] = byte(s[c] / cnt)
			}
			drop, add := min(max(i-rad, 0), n-1), min(i+rad+1, n-1)
			for c := range 4 {
				s[c] += buf[4*add+c] - buf[4*drop+c]
			}
		}
		for i := 0; i < n; i++ {
			o := at(i)
			copy(im.Pix[o:o+4], out[4*i:4*i+4])
		}
	}
	for y := y0; y < y1; y++ {
		line(func(i int) int { return y*stride + 4*(x0+i) }, w)
	}
	for x := x0; x < x1; x++ {
		line(func(i int) int { return (y0+i)*stride + 4*x }, h)
	}
}
