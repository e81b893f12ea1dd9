package ort

import (
	"image"
	"image/draw"
	"os"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/obscuraproject/obscura/internal/models"
)

// textImage renders s in black on white, scaled up 3× (nearest neighbour).
func textImage(s string, w, h int) *image.RGBA {
	small := image.NewRGBA(image.Rect(0, 0, w/3, h/3))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	if s != "" {
		d := &font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(4, h/6+4)}
		d.DrawString(s)
	}
	big := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			big.Set(x, y, small.At(x/3, y/3))
		}
	}
	return big
}

// detInput is PP-OCR detection preprocessing: NCHW, ImageNet mean and std.
func detInput(img *image.RGBA) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	mean, std := [3]float32{0.485, 0.456, 0.406}, [3]float32{0.229, 0.224, 0.225}
	out := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			c := img.RGBAAt(x, y)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				out[ch*w*h+y*w+x] = (float32(v)/255 - mean[ch]) / std[ch]
			}
		}
	}
	return out
}

func TestTextDetectionRunsOnPinnedRuntime(t *testing.T) {
	m := models.Pinned()
	dir := models.DefaultDir(os.Getenv)
	if err := Init(m, dir); err != nil {
		t.Fatalf("init runtime (run make setup-test): %v", err)
	}
	model, err := m.Load(dir, "ppocr-v4-det.onnx")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(model, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const w, h = 384, 96
	score := func(img *image.RGBA) (inText, outside float64) {
		prob, shape, err := s.Run(detInput(img), 1, 3, h, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(shape) != 4 || shape[2] != h || shape[3] != w {
			t.Fatalf("output shape %v", shape)
		}
		// Text occupies roughly x 12..(12+3*7*len), y h/2-20..h/2+10 after scaling.
		var nIn, nOut int
		for y := range h {
			for x := range w {
				p := float64(prob[y*w+x])
				if x > 20 && x < 250 && y > 30 && y < 60 {
					inText += p
					nIn++
				} else if y < 15 || y > 80 {
					outside += p
					nOut++
				}
			}
		}
		return inText / float64(nIn), outside / float64(nOut)
	}
	txtIn, txtOut := score(textImage("OBSCURA 2026", w, h))
	blankIn, _ := score(textImage("", w, h))
	t.Logf("text region mean probability %.3f, margins %.3f, blank image %.3f", txtIn, txtOut, blankIn)
	if txtIn < 0.3 || txtOut > 0.05 || blankIn > 0.05 {
		t.Errorf("detector does not separate text from background: text %.3f, margins %.3f, blank %.3f", txtIn, txtOut, blankIn)
	}
}
