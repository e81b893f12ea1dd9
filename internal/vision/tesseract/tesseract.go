// Package tesseract reads English text with Tesseract 5 (Debian's
// libtesseract5 and tesseract-ocr-eng, driven through
// github.com/otiai10/gosseract/v2). Obscura measured it against PP-OCRv4's
// recognizer on rendered English text and reads with it (docs/text.md):
// it keeps the spaces between words that PP-OCR's Chinese-first
// dictionary drops.
//
// The English model is not fetched by Obscura's model manifest (Debian
// ships it, from a signed archive), but it is pinned the same way: Open
// checks eng.traineddata against TrainedDataSHA256 and refuses a file that
// differs.
//
// Tesseract is given pixels Obscura has already decoded and bounded (a
// PNM Obscura writes itself), never the uploaded bytes, so its own image
// parsers never see untrusted input.
package tesseract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otiai10/gosseract/v2"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// DefaultDir is where Debian's tesseract-ocr-eng installs its model.
const DefaultDir = "/usr/share/tesseract-ocr/5/tessdata"

// TrainedDataSHA256 pins eng.traineddata (Debian tesseract-ocr-eng
// 1:4.1.0-2, 4 113 088 bytes).
const TrainedDataSHA256 = "7d4322bd2a7749724879683fc3912cb542f19906c83bcc1a52132556427170b2"

// ErrModel reports a missing or altered English model.
var ErrModel = errors.New("tesseract: English model missing or altered")

// lineHeight is the height line crops are scaled to before reading
// (Tesseract reads best with capitals about 30 pixels tall).
const lineHeight = 48

// Reader runs Tesseract. It keeps a pool of initialised engines and is
// safe for concurrent use.
type Reader struct {
	dir  string
	pool chan *gosseract.Client
}

// Open verifies the English model in dir and prepares up to n engines.
func Open(dir string, n int) (*Reader, error) {
	b, err := os.ReadFile(filepath.Join(dir, "eng.traineddata"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v (install tesseract-ocr-eng)", ErrModel, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != TrainedDataSHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, pinned %s", ErrModel, filepath.Join(dir, "eng.traineddata"), got, TrainedDataSHA256)
	}
	r := &Reader{dir: dir, pool: make(chan *gosseract.Client, max(n, 1))}
	for range max(n, 1) {
		r.pool <- nil // created on first use
	}
	return r, nil
}

// Close frees the engines.
func (r *Reader) Close() error {
	for range cap(r.pool) {
		if c := <-r.pool; c != nil {
			c.Close()
		}
	}
	return nil
}

func (r *Reader) get(ctx context.Context) (*gosseract.Client, error) {
	select {
	case c := <-r.pool:
		if c == nil {
			c = gosseract.NewClient()
			if err := c.SetTessdataPrefix(r.dir); err != nil {
				r.pool <- nil
				return nil, err
			}
			_ = c.SetVariable("debug_file", "/dev/null")
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pnm encodes the region of src, scaled by s, as a binary PPM.
func pnm(src *image.RGBA, r image.Rectangle, s float64) []byte {
	w := max(1, int(float64(r.Dx())*s+0.5))
	h := max(1, int(float64(r.Dy())*s+0.5))
	head := "P6\n" + strconv.Itoa(w) + " " + strconv.Itoa(h) + "\n255\n"
	out := make([]byte, len(head)+3*w*h)
	copy(out, head)
	px := out[len(head):]
	picture.Resize(src, r, w, h, func(x, y int, rr, g, b float32) {
		i := 3 * (y*w + x)
		px[i], px[i+1], px[i+2] = uint8(rr+0.5), uint8(g+0.5), uint8(b+0.5)
	})
	return out
}

// margin is the white border added around a binarised line.
const margin = 12

// Binarisations of a line, tried in order.
const (
	// minority: grey levels split by Otsu's threshold, the smaller class
	// taken as text (dark text on a light ground, or the reverse).
	minority = iota
	// brightest: Otsu's threshold applied again within the lighter class,
	// the brightest pixels taken as text: white captions with a dark
	// outline over a photo, where the first split separates the photo's
	// light and dark parts instead.
	brightest
	binarisations
)

// minContrast is the grey-level range below which a region holds no
// legible text.
const minContrast = 32

// binaryLine renders the region of src, scaled by s, as a PGM of black
// text on white, or returns nil for a region without contrast. Tesseract's own binarisation keeps a caption's outline
// and the photo behind it and reads them as stray letters.
func binaryLine(src *image.RGBA, r image.Rectangle, s float64, mode int) []byte {
	w := max(1, int(float64(r.Dx())*s+0.5))
	h := max(1, int(float64(r.Dy())*s+0.5))
	grey := make([]uint8, w*h)
	var hist [256]int
	picture.Resize(src, r, w, h, func(x, y int, rr, g, b float32) {
		v := uint8(0.299*rr + 0.587*g + 0.114*b + 0.5)
		grey[y*w+x] = v
		hist[v]++
	})
	lo, hi := 0, 255
	for hist[lo] == 0 {
		lo++
	}
	for hist[hi] == 0 {
		hi--
	}
	if hi-lo < minContrast {
		return nil
	}
	t := otsu(hist, w*h)
	above := 0
	for v := t + 1; v < 256; v++ {
		above += hist[v]
	}
	lightText := above*2 < w*h
	switch mode {
	case minority:
	case brightest:
		var upper [256]int
		copy(upper[t+1:], hist[t+1:])
		t = otsu(upper, above)
		lightText = true
	}
	W, H := w+2*margin, h+2*margin
	head := "P5\n" + strconv.Itoa(W) + " " + strconv.Itoa(H) + "\n255\n"
	out := make([]byte, len(head)+W*H)
	copy(out, head)
	px := out[len(head):]
	for i := range px {
		px[i] = 255
	}
	for y := range h {
		for x := range w {
			if (grey[y*w+x] > uint8(t)) == lightText {
				px[(y+margin)*W+x+margin] = 0
			}
		}
	}
	return out
}

// otsu is the grey level that best separates hist into two classes.
func otsu(hist [256]int, n int) int {
	var sum float64
	for v, c := range hist {
		sum += float64(v * c)
	}
	var sumB float64
	wB, best, bestVar := 0, 0, -1.0
	for v, c := range hist {
		wB += c
		if wB == 0 {
			continue
		}
		wF := n - wB
		if wF == 0 {
			break
		}
		sumB += float64(v * c)
		mB, mF := sumB/float64(wB), (sum-sumB)/float64(wF)
		if between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF); between > bestVar {
			best, bestVar = v, between
		}
	}
	return best
}

// Text is a line Tesseract read, in pixels of the full-size image, with
// its confidence 0..1.
type Text struct {
	Text  string
	Box   geom.Rect
	Score float64
}

// ReadLine reads the single line of text inside box (pixels of the
// full-size upright image).
func (r *Reader) ReadLine(ctx context.Context, p *picture.Picture, box geom.Rect) (Text, error) {
	s := 1 / p.Scale
	reg := geom.Rect{X: box.X * s, Y: box.Y * s, W: box.W * s, H: box.H * s}.Image().Intersect(p.RGB.Rect)
	if reg.Dx() < 4 || reg.Dy() < 4 {
		return Text{Box: box}, nil
	}
	c, err := r.get(ctx)
	if err != nil {
		return Text{}, err
	}
	defer func() { r.pool <- c }()
	if err := c.SetPageSegMode(gosseract.PSM_SINGLE_LINE); err != nil {
		return Text{}, fmt.Errorf("tesseract: %w", err)
	}
	best := Text{Box: box}
	for mode := range binarisations {
		img := binaryLine(p.RGB, reg, float64(lineHeight)/float64(reg.Dy()), mode)
		if img == nil {
			break
		}
		if err := c.SetImageFromBytes(img); err != nil {
			return Text{}, fmt.Errorf("tesseract: %w", err)
		}
		words, err := c.GetBoundingBoxes(gosseract.RIL_WORD)
		if err != nil {
			return Text{}, fmt.Errorf("tesseract: %w", err)
		}
		var parts []string
		conf := 0.0
		for _, w := range words {
			if t := strings.TrimSpace(w.Word); t != "" {
				parts = append(parts, t)
				conf += w.Confidence
			}
		}
		if len(parts) == 0 {
			continue
		}
		if score := conf / float64(len(parts)) / 100; score > best.Score {
			best = Text{Text: strings.Join(parts, " "), Box: box, Score: score}
		}
		if best.Score >= confident {
			break
		}
	}
	return best, nil
}

// confident is the mean word confidence at which ReadLine stops trying
// further binarisations.
const confident = 0.9

// ReadPage finds and reads the lines of text in the whole image with
// Tesseract's own layout analysis (measured as an alternative to PP-OCR
// detection; see docs/text.md).
func (r *Reader) ReadPage(ctx context.Context, p *picture.Picture) ([]Text, error) {
	c, err := r.get(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { r.pool <- c }()
	if err := c.SetPageSegMode(gosseract.PSM_AUTO); err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	if err := c.SetImageFromBytes(pnm(p.RGB, p.RGB.Rect, 1)); err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	lines, err := c.GetBoundingBoxes(gosseract.RIL_TEXTLINE)
	if err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	var out []Text
	for _, l := range lines {
		t := strings.Join(strings.Fields(l.Word), " ")
		if t == "" {
			continue
		}
		b := geom.Rect{X: float64(l.Box.Min.X) * p.Scale, Y: float64(l.Box.Min.Y) * p.Scale, W: float64(l.Box.Dx()) * p.Scale, H: float64(l.Box.Dy()) * p.Scale}
		out = append(out, Text{Text: t, Box: b, Score: l.Confidence / 100})
	}
	return out, nil
}
