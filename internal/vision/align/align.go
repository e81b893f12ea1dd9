// Package align aligns faces for the embedders: it fits the similarity
// transform (rotation, uniform scale, translation; no reflection or shear)
// that maps a face's detected keypoints onto a template in least squares
// (Umeyama 1991, "Least-squares estimation of transformation parameters
// between two point patterns", which for 2-D points without reflection has
// the closed form used here), and samples the photo through its inverse.
//
// The template is the standard ArcFace 112×112 five-point template
// (InsightFace; the same values ship in npm
// faceplugin-face-recognition-js@0.0.1 lib/fr_feature.js). BlazeFace gives
// the two eye centres, the nose tip and the mouth centre (not the mouth
// corners), so the mouth point used here is the midpoint of the template's
// two mouth corners: four point pairs, which fix a similarity transform
// with two to spare. The ears are not used (the template has none).
package align

import (
	"image"
	"math"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ArcFace is the ArcFace 112×112 template, in that image's pixels (OpenCV
// convention: integer coordinates are pixel centres): the subject's right
// eye (left in the image), left eye, nose tip, right and left mouth
// corners.
var ArcFace = [5]geom.Point{
	{X: 38.2946, Y: 51.6963},
	{X: 73.5318, Y: 51.5014},
	{X: 56.0252, Y: 71.7366},
	{X: 41.5493, Y: 92.3655},
	{X: 70.7299, Y: 92.2041},
}

// Template4 is the ArcFace template reduced to the points BlazeFace
// detects, in BlazeFace's keypoint order: right eye, left eye, nose tip,
// mouth centre (the midpoint of the two mouth corners).
func Template4(side float64) [4]geom.Point {
	s := side / 112
	m := geom.Point{X: (ArcFace[3].X + ArcFace[4].X) / 2, Y: (ArcFace[3].Y + ArcFace[4].Y) / 2}
	return [4]geom.Point{
		{X: ArcFace[0].X * s, Y: ArcFace[0].Y * s},
		{X: ArcFace[1].X * s, Y: ArcFace[1].Y * s},
		{X: ArcFace[2].X * s, Y: ArcFace[2].Y * s},
		{X: m.X * s, Y: m.Y * s},
	}
}

// Similarity is the map p ↦ (A·p.X − B·p.Y + TX, B·p.X + A·p.Y + TY):
// scale √(A²+B²), rotation atan2(B, A).
type Similarity struct{ A, B, TX, TY float64 }

// Apply maps a point.
func (t Similarity) Apply(p geom.Point) geom.Point {
	return geom.Point{X: t.A*p.X - t.B*p.Y + t.TX, Y: t.B*p.X + t.A*p.Y + t.TY}
}

// Scale is the transform's scale factor.
func (t Similarity) Scale() float64 { return math.Hypot(t.A, t.B) }

// Inverse is the inverse map (identity for a degenerate transform).
func (t Similarity) Inverse() Similarity {
	d := t.A*t.A + t.B*t.B
	if d == 0 {
		return Similarity{A: 1}
	}
	a, b := t.A/d, -t.B/d
	return Similarity{A: a, B: b, TX: -(a*t.TX - b*t.TY), TY: -(b*t.TX + a*t.TY)}
}

// Fit is the least-squares similarity transform taking src[i] to dst[i].
// With points as complex numbers z, the minimiser of Σ|a·z_i + t − w_i|²
// is a = Σ conj(z̃_i)·w̃_i / Σ|z̃_i|² over the centred points, t = w̄ − a·z̄.
// Degenerate input (all source points equal) gives the translation only.
func Fit(src, dst []geom.Point) Similarity {
	n := float64(min(len(src), len(dst)))
	if n == 0 {
		return Similarity{A: 1}
	}
	var sx, sy, dx, dy float64
	for i := range int(n) {
		sx, sy, dx, dy = sx+src[i].X, sy+src[i].Y, dx+dst[i].X, dy+dst[i].Y
	}
	sx, sy, dx, dy = sx/n, sy/n, dx/n, dy/n
	var num, numI, den float64
	for i := range int(n) {
		zx, zy := src[i].X-sx, src[i].Y-sy
		wx, wy := dst[i].X-dx, dst[i].Y-dy
		// conj(z)·w = (zx − i·zy)(wx + i·wy)
		num += zx*wx + zy*wy
		numI += zx*wy - zy*wx
		den += zx*zx + zy*zy
	}
	t := Similarity{A: 1}
	if den > 0 {
		t.A, t.B = num/den, numI/den
	}
	t.TX = dx - (t.A*sx - t.B*sy)
	t.TY = dy - (t.B*sx + t.A*sy)
	return t
}

// ToTemplate is the transform from a face's keypoints (full-size photo
// pixels) to the side×side aligned crop.
func ToTemplate(f blazeface.Face, side float64) Similarity {
	tpl := Template4(side)
	return Fit(f.Keypoints[:4], tpl[:])
}

// Warp samples the side×side aligned crop of p: each output pixel (x, y)
// takes the photo's colour at t⁻¹(x, y) (t maps full-size photo pixels
// to crop pixels), bilinearly, with edge pixels repeated outside the
// photo. When the crop shrinks the face by more than 1.5×, each output
// pixel averages a k×k grid of samples (k up to 4) so that small detail
// does not alias. put receives 0..255 channel values.
func Warp(p *picture.Picture, t Similarity, side int, put func(x, y int, r, g, b float32)) {
	// Crop pixels to p.RGB pixels: t⁻¹ gives full-size pixels; divide by
	// the picture's downscale.
	inv := t.Inverse()
	sc := 1 / p.Scale
	inv = Similarity{A: inv.A * sc, B: inv.B * sc, TX: inv.TX * sc, TY: inv.TY * sc}
	k := int(math.Min(4, math.Ceil(inv.Scale()/1.5)))
	k = max(k, 1)
	src := p.RGB
	bnd := src.Rect
	if bnd.Empty() {
		return
	}
	sample := func(x, y float64) (float32, float32, float32) {
		x0, y0 := math.Floor(x), math.Floor(y)
		fx, fy := x-x0, y-y0
		var c [3]float64
		for _, q := range [4]struct {
			dx, dy int
			w      float64
		}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
			if q.w == 0 {
				continue
			}
			px := min(max(int(x0)+q.dx+bnd.Min.X, bnd.Min.X), bnd.Max.X-1)
			py := min(max(int(y0)+q.dy+bnd.Min.Y, bnd.Min.Y), bnd.Max.Y-1)
			o := src.PixOffset(px, py)
			c[0] += q.w * float64(src.Pix[o])
			c[1] += q.w * float64(src.Pix[o+1])
			c[2] += q.w * float64(src.Pix[o+2])
		}
		return float32(c[0]), float32(c[1]), float32(c[2])
	}
	n := float32(k * k)
	for y := range side {
		for x := range side {
			var r, g, b float32
			for j := range k {
				for i := range k {
					u := float64(x) + (float64(i)+0.5)/float64(k) - 0.5
					v := float64(y) + (float64(j)+0.5)/float64(k) - 0.5
					q := inv.Apply(geom.Point{X: u, Y: v})
					rr, gg, bb := sample(q.X, q.Y)
					r, g, b = r+rr, g+gg, b+bb
				}
			}
			put(x, y, r/n, g/n, b/n)
		}
	}
}

// Crop returns the aligned crop as an image (for inspection and tests).
func Crop(p *picture.Picture, t Similarity, side int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, side, side))
	Warp(p, t, side, func(x, y int, r, g, b float32) {
		o := out.PixOffset(x, y)
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = uint8(r+0.5), uint8(g+0.5), uint8(b+0.5), 255
	})
	return out
}
