package visiontest

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Sentences are the English lines the rendered-text measurements use:
// ordinary words, capitals, digits and punctuation.
var Sentences = []string{
	"Meet me at the old bridge at noon",
	"Happy birthday to the best sister ever",
	"When the coffee finally kicks in",
	"Open Monday to Friday 9 to 5",
	"No parking in front of this gate",
	"Fresh bread baked every morning",
	"Keep calm and carry on reading",
	"The quick brown fox jumps over the lazy dog",
	"Welcome to Lisbon 2026",
	"Please close the door behind you",
	"Free coffee with every breakfast",
	"My code works and I have no idea why",
}

// Style is how a rendered text sample looks.
type Style int

// Styles of rendered text.
const (
	// Document: dark text on white.
	Document Style = iota
	// Meme: bold white text with a black outline over a photo.
	Meme
	// Sign: dark text on a light panel over a photo.
	Sign
)

func (s Style) String() string { return [...]string{"document", "meme", "sign"}[s] }

// RenderText draws lines in style at the given pixel size, over the
// sample photo bg for the photo styles, and returns the picture and each
// line's box (ink extent plus a quarter of the type size around it).
func RenderText(t testing.TB, lines []string, style Style, size float64, bg string) (*picture.Picture, []geom.Rect) {
	t.Helper()
	var bgPic *picture.Picture
	if style != Document {
		bgPic = Picture(t, bg)
	}
	p, boxes, err := Render(bgPic, lines, style, size)
	if err != nil {
		t.Fatal(err)
	}
	return p, boxes
}

// Render is RenderText over a given background picture (nil for
// Document), for callers without a testing.TB.
func Render(bg *picture.Picture, lines []string, style Style, size float64) (*picture.Picture, []geom.Rect, error) {
	ttf := goregular.TTF
	if style == Meme {
		ttf = gobold.TTF
	}
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, nil, err
	}
	defer face.Close()
	const w, h = 960, 640
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	if style != Document && bg != nil {
		p := bg
		picture.Resize(p.RGB, p.RGB.Rect, w, h, func(x, y int, r, g, b float32) {
			img.SetRGBA(x, y, color.RGBA{uint8(r), uint8(g), uint8(b), 255})
		})
	}
	var boxes []geom.Rect
	lineH := int(size * 1.6)
	top := (h - lineH*len(lines)) / 2
	for i, line := range lines {
		adv := font.MeasureString(face, line).Ceil()
		x := (w - adv) / 2
		base := top + i*lineH + int(size)
		if style == Sign {
			panel := image.Rect(x-12, base-int(size)-6, x+adv+12, base+int(size*0.4)+6)
			draw.Draw(img, panel, image.NewUniform(color.RGBA{240, 235, 220, 255}), image.Point{}, draw.Src)
		}
		b, _ := font.BoundString(face, line)
		pad := size / 4
		boxes = append(boxes, geom.Rect{
			X: float64(x+b.Min.X.Floor()) - pad, Y: float64(base+b.Min.Y.Floor()) - pad,
			W: float64((b.Max.X - b.Min.X).Ceil()) + 2*pad, H: float64((b.Max.Y - b.Min.Y).Ceil()) + 2*pad,
		})
		text := func(c color.Color, dx, dy int) {
			d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x+dx, base+dy)}
			d.DrawString(line)
		}
		switch style {
		case Meme:
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					text(color.Black, dx, dy)
				}
			}
			text(color.White, 0, 0)
		default:
			text(color.RGBA{25, 25, 30, 255}, 0, 0)
		}
	}
	return &picture.Picture{RGB: img, Width: w, Height: h, Scale: 1}, boxes, nil
}
