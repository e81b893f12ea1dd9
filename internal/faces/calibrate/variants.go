package calibrate

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"

	xdraw "golang.org/x/image/draw"
)

// Variants are the degraded versions made of each photo, by name.
var Variants = []string{"grey", "small", "jpeg", "screenshot"}

// Degrade makes variant v of photo img, whose largest face is faceW pixels
// wide, and encodes it as a real library would hold it. i (the photo's
// index) varies the parameters deterministically across photos:
//
//   - grey: luminance only (BT.601), JPEG quality 90;
//   - small: scaled so the face is 40–100 px wide, JPEG quality 90;
//   - jpeg: re-encoded at JPEG quality 30–60;
//   - screenshot: scaled to 75%, framed in a white window with a grey title
//     bar (as a screenshot of a photo viewer), saved as PNG.
func Degrade(img image.Image, faceW float64, v string, i int) ([]byte, error) {
	var buf bytes.Buffer
	switch v {
	case "grey":
		b := img.Bounds()
		g := image.NewGray(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				g.Set(x, y, color.GrayModel.Convert(img.At(x, y)))
			}
		}
		return enc(&buf, jpeg.Encode(&buf, g, &jpeg.Options{Quality: 90}))
	case "small":
		target := 40 + float64((i*13)%61)
		s := math.Min(1, target/math.Max(faceW, 1))
		return enc(&buf, jpeg.Encode(&buf, scale(img, s), &jpeg.Options{Quality: 90}))
	case "jpeg":
		return enc(&buf, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 30 + (i*7)%31}))
	case "screenshot":
		sm := scale(img, 0.75)
		b := sm.Bounds()
		const margin, bar = 16, 28
		win := image.NewRGBA(image.Rect(0, 0, b.Dx()+2*margin, b.Dy()+2*margin+bar))
		xdraw.Draw(win, win.Bounds(), image.White, image.Point{}, xdraw.Src)
		xdraw.Draw(win, image.Rect(0, 0, win.Bounds().Dx(), bar), image.NewUniform(color.RGBA{0xd8, 0xd8, 0xdc, 0xff}), image.Point{}, xdraw.Src)
		xdraw.Draw(win, image.Rect(margin, bar+margin, margin+b.Dx(), bar+margin+b.Dy()), sm, b.Min, xdraw.Src)
		return enc(&buf, png.Encode(&buf, win))
	}
	return nil, fmt.Errorf("calibrate: unknown variant %q", v)
}

// enc returns what was encoded into buf, or the encoder's error.
func enc(buf *bytes.Buffer, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("calibrate: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func scale(img image.Image, s float64) image.Image {
	b := img.Bounds()
	w, h := max(1, int(math.Round(float64(b.Dx())*s))), max(1, int(math.Round(float64(b.Dy())*s)))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, b, xdraw.Src, nil)
	return out
}
