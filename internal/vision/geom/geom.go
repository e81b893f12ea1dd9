// Package geom holds the small geometry the vision models share: boxes and
// points in image pixels, overlap, and non-maximum suppression.
package geom

import (
	"image"
	"math"
)

// Point is a position in pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is an axis-aligned box in pixels: top-left corner, width and height.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Area is W×H (0 for an empty box).
func (r Rect) Area() float64 { return math.Max(0, r.W) * math.Max(0, r.H) }

// IoU is the intersection over union of two boxes.
func (r Rect) IoU(o Rect) float64 {
	x0, y0 := math.Max(r.X, o.X), math.Max(r.Y, o.Y)
	x1, y1 := math.Min(r.X+r.W, o.X+o.W), math.Min(r.Y+r.H, o.Y+o.H)
	inter := math.Max(0, x1-x0) * math.Max(0, y1-y0)
	u := r.Area() + o.Area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// Clip limits the box to a w×h image.
func (r Rect) Clip(w, h float64) Rect {
	x0, y0 := math.Max(0, r.X), math.Max(0, r.Y)
	x1, y1 := math.Min(w, r.X+r.W), math.Min(h, r.Y+r.H)
	return Rect{X: x0, Y: y0, W: math.Max(0, x1-x0), H: math.Max(0, y1-y0)}
}

// Round rounds the box to whole pixels (what the API reports).
func (r Rect) Round() Rect {
	return Rect{X: math.Round(r.X), Y: math.Round(r.Y), W: math.Round(r.W), H: math.Round(r.H)}
}

// Image is the box as an image.Rectangle, its corners rounded to the
// nearest pixel.
func (r Rect) Image() image.Rectangle {
	return image.Rect(int(math.Round(r.X)), int(math.Round(r.Y)), int(math.Round(r.X+r.W)), int(math.Round(r.Y+r.H)))
}
