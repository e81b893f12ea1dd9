// Package sticker is the sticker plugin's effect. The stickers are vector
// shapes drawn in code (a smiley, a star, a heart; original work of the
// Obscura project under the repository's licence), so no image set has to
// be fetched or pinned.
package sticker

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

// Params are the plugin's parameters (its manifest's schema).
type Params struct {
	// Sticker is "smiley" (default), "star" or "heart".
	Sticker string `json:"sticker"`
	// Placement is "faces" (default: one sticker covering each face) or a
	// corner: "top-left", "top-right", "bottom-left", "bottom-right".
	Placement string `json:"placement"`
	// Scale is a corner sticker's side as a fraction of the photo's
	// shorter side (default 0.25), or a face sticker's size relative to the
	// face box (default 1.3 there when unset).
	Scale float64 `json:"scale"`
}

// shape returns the sticker's colour and coverage (0..1) at (u, v) in
// [-1, 1]², v pointing down.
type shape func(u, v float64) (r, g, b, a float64)

var shapes = map[string]shape{
	"smiley": smiley,
	"star":   star,
	"heart":  heart,
}

// Apply draws the stickers onto r.Image in place.
func Apply(r *plugin.Request) (*plugin.Image, error) {
	p := Params{Sticker: "smiley", Placement: "faces"}
	if len(r.Params) > 0 {
		if err := json.Unmarshal(r.Params, &p); err != nil {
			return nil, errors.New("sticker: bad parameters")
		}
	}
	s, ok := shapes[p.Sticker]
	if !ok {
		return nil, errors.New("sticker: unknown sticker")
	}
	im := r.Image
	short := min(im.Width, im.Height)
	if p.Placement == "faces" {
		scale := p.Scale
		if scale == 0 {
			scale = 1.3
		}
		if scale < 0.5 || scale > 3 {
			return nil, errors.New("sticker: scale out of range")
		}
		for _, f := range r.Faces {
			side := int(float64(max(f.W, f.H)) * scale)
			draw(im, s, f.X+f.W/2-side/2, f.Y+f.H/2-side/2, side)
		}
		return im, nil
	}
	scale := p.Scale
	if scale == 0 {
		scale = 0.25
	}
	if scale < 0.05 || scale > 1 {
		return nil, errors.New("sticker: scale out of range")
	}
	side := max(1, int(float64(short)*scale))
	pad := short / 40
	var x, y int
	switch p.Placement {
	case "top-left":
		x, y = pad, pad
	case "top-right":
		x, y = im.Width-side-pad, pad
	case "bottom-left":
		x, y = pad, im.Height-side-pad
	case "bottom-right":
		x, y = im.Width-side-pad, im.Height-side-pad
	default:
		return nil, errors.New("sticker: unknown placement")
	}
	draw(im, s, x, y, side)
	return im, nil
}

// draw blends shape s into the side×side square at (x0, y0), clipped.
func draw(im *plugin.Image, s shape, x0, y0, side int) {
	if side <= 0 {
		return
	}
	stride := 4 * im.Width
	for y := max(0, y0); y < min(im.Height, y0+side); y++ {
		v := (float64(y-y0)+0.5)/float64(side)*2 - 1
		for x := max(0, x0); x < min(im.Width, x0+side); x++ {
			u := (float64(x-x0)+0.5)/float64(side)*2 - 1
			r, g, b, a := s(u, v)
			if a <= 0 {
				continue
			}
			o := y*stride + 4*x
			px := im.Pix[o : o+4]
			px[0] = byte(float64(px[0])*(1-a) + 255*r*a)
			px[1] = byte(float64(px[1])*(1-a) + 255*g*a)
			px[2] = byte(float64(px[2])*(1-a) + 255*b*a)
			px[3] = 255
		}
	}
}

func smiley(u, v float64) (r, g, b, a float64) {
	d := math.Hypot(u, v)
	switch {
	case d > 1:
		return 0, 0, 0, 0
	case d > 0.92:
		return 0.35, 0.2, 0, 1 // outline
	case math.Hypot(u+0.35, v+0.3) < 0.13, math.Hypot(u-0.35, v+0.3) < 0.13:
		return 0.2, 0.1, 0, 1 // eyes
	case v > 0.1 && math.Abs(math.Hypot(u, v-0.05)-0.55) < 0.07:
		return 0.2, 0.1, 0, 1 // mouth
	}
	return 1, 0.8, 0.1, 1
}

func star(u, v float64) (r, g, b, a float64) {
	d := math.Hypot(u, v)
	if d > 1 {
		return 0, 0, 0, 0
	}
	// A five-pointed star: the radius at angle t alternates between the
	// outer (1) and inner (0.45) radius every 36°.
	t := math.Atan2(u, -v)
	seg := math.Mod(t+2*math.Pi, 2*math.Pi/5) / (2 * math.Pi / 5) // 0..1 between two points
	k := math.Abs(seg*2 - 1)                                      // 1 at a point, 0 between
	edge := 0.45 + 0.55*k
	if d > edge*0.98 {
		return 0, 0, 0, 0
	}
	return 1, 0.75, 0.05, 1
}

func heart(u, v float64) (r, g, b, a float64) {
	x, y := u*1.2, -v*1.2+0.2
	if q := x*x + y*y - 1; q*q*q-x*x*y*y*y > 0 {
		return 0, 0, 0, 0
	}
	return 0.9, 0.1, 0.25, 1
}
