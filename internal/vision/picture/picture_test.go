package picture

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
)

func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation adds an EXIF APP1 segment carrying orientation o.
func withOrientation(j []byte, o byte) []byte {
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00")
	tiff = append(tiff, o, 0, 0, 0, 0, 0, 0, 0)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(append(append([]byte{}, j[:2]...), append(seg, payload...)...), j[2:]...)
}

func TestDecodeScalesJPEGOnDecodeAndOrients(t *testing.T) {
	src := quadrants(4000, 3000)
	j := encJPEG(t, src)
	p, err := Decode(j, Options{MaxPixels: 50e6, MinSide: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 4000 || p.Height != 3000 || p.RGB.Rect.Dx() != 1000 || p.Scale != 4 {
		t.Fatalf("got %dx%d decoded at %v, scale %v", p.Width, p.Height, p.RGB.Rect, p.Scale)
	}
	// Orientation 6 (rotate 90° clockwise): the upright image is 3000×4000
	// and its top-left quadrant is the source's bottom-left (blue).
	p, err = Decode(withOrientation(j, 6), Options{MaxPixels: 50e6, MinSide: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 3000 || p.Height != 4000 || p.RGB.Rect.Dx() != 750 {
		t.Fatalf("oriented: %dx%d, decoded %v", p.Width, p.Height, p.RGB.Rect)
	}
	if c := p.RGB.RGBAAt(10, 10); c.B < 200 || c.R > 60 {
		t.Errorf("top-left after orientation 6 = %v, want blue", c)
	}
	var pb bytes.Buffer
	png.Encode(&pb, quadrants(64, 32))
	p, err = Decode(pb.Bytes(), DefaultOptions)
	if err != nil || p.Width != 64 || p.Scale != 1 {
		t.Fatalf("png: %+v, %v", p, err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	j := encJPEG(t, quadrants(640, 480))
	// A 65535×65535 frame header with a tiny body: a decompression bomb.
	bomb := bytes.Clone(j)
	for i := 2; i+9 < len(bomb); i++ {
		if bomb[i] == 0xFF && bomb[i+1] == 0xC0 {
			bomb[i+5], bomb[i+6], bomb[i+7], bomb[i+8] = 0xFF, 0xFF, 0xFF, 0xFF
			break
		}
	}
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"empty":     {nil, ErrInvalid},
		"text":      {[]byte("hello, not an image"), ErrInvalid},
		"truncated": {j[:len(j)/2], ErrInvalid},
		"header":    {j[:20], ErrInvalid},
		"bomb":      {bomb, ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(tc.data, DefaultOptions); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResizeMatchesTFConvention(t *testing.T) {
	// 4×1 ramp 0, 100, 200, 300→255 resized to 2×1: TF (no half-pixel
	// centres) samples x = 0 and x = 2.
	src := image.NewRGBA(image.Rect(0, 0, 4, 1))
	for x, v := range []uint8{0, 100, 200, 255} {
		src.SetRGBA(x, 0, color.RGBA{v, v, v, 255})
	}
	var got []float32
	Resize(src, src.Rect, 2, 1, func(x, y int, r, g, b float32) { got = append(got, r) })
	if got[0] != 0 || got[1] != 200 {
		t.Errorf("resized = %v, want [0 200]", got)
	}
}

func TestResizeAlignCorners(t *testing.T) {
	// 4×1 ramp resized to 3×1 with aligned corners samples x = 0, 1.5, 3.
	src := image.NewRGBA(image.Rect(0, 0, 4, 1))
	for x, v := range []uint8{0, 100, 200, 250} {
		src.SetRGBA(x, 0, color.RGBA{v, v, v, 255})
	}
	var got []float32
	ResizeAlignCorners(src, src.Rect, 3, 1, func(x, y int, r, g, b float32) { got = append(got, r) })
	if len(got) != 3 || got[0] != 0 || got[1] != 150 || got[2] != 250 {
		t.Errorf("resized = %v, want [0 150 250]", got)
	}
}

// naiveResize is the direct definition of TF's bilinear resize, one bounds
// check per sample; resize must agree with it exactly.
func naiveResize(src *image.RGBA, r image.Rectangle, w, h int, align bool, put func(x, y int, r, g, b float32)) {
	sx := float64(r.Dx()) / float64(w)
	sy := float64(r.Dy()) / float64(h)
	if align {
		sx, sy = 0, 0
		if w > 1 {
			sx = float64(r.Dx()-1) / float64(w-1)
		}
		if h > 1 {
			sy = float64(r.Dy()-1) / float64(h-1)
		}
	}
	at := func(x, y int) [3]float32 {
		if !(image.Point{x, y}.In(src.Rect)) {
			return [3]float32{}
		}
		c := src.RGBAAt(x, y)
		return [3]float32{float32(c.R), float32(c.G), float32(c.B)}
	}
	for y := range h {
		fy := float64(y) * sy
		y0 := int(math.Floor(fy))
		dy := float32(fy - float64(y0))
		y1 := min(y0+1, r.Dy()-1)
		for x := range w {
			fx := float64(x) * sx
			x0 := int(math.Floor(fx))
			dx := float32(fx - float64(x0))
			x1 := min(x0+1, r.Dx()-1)
			p00, p01 := at(r.Min.X+x0, r.Min.Y+y0), at(r.Min.X+x1, r.Min.Y+y0)
			p10, p11 := at(r.Min.X+x0, r.Min.Y+y1), at(r.Min.X+x1, r.Min.Y+y1)
			var v [3]float32
			for c := range 3 {
				a := p00[c] + (p01[c]-p00[c])*dx
				b := p10[c] + (p11[c]-p10[c])*dx
				v[c] = a + (b-a)*dy
			}
			put(x, y, v[0], v[1], v[2])
		}
	}
}

func TestResizeMatchesNaiveDefinition(t *testing.T) {
	src := image.NewRGBA(image.Rect(3, 2, 40, 31))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	regions := []image.Rectangle{
		src.Rect,
		image.Rect(10, 5, 20, 30),
		image.Rect(-5, -7, 50, 45), // a face crop reaching past every edge
		image.Rect(38, 29, 60, 60), // mostly outside
		image.Rect(5, 5, 6, 6),     // one pixel
	}
	for _, r := range regions {
		for _, size := range [][2]int{{1, 1}, {7, 3}, {37, 29}, {64, 80}} {
			for _, align := range []bool{false, true} {
				got := make([]float32, size[0]*size[1]*3)
				want := make([]float32, len(got))
				resize(src, r, size[0], size[1], align, func(x, y int, r, g, b float32) {
					i := (y*size[0] + x) * 3
					got[i], got[i+1], got[i+2] = r, g, b
				})
				naiveResize(src, r, size[0], size[1], align, func(x, y int, r, g, b float32) {
					i := (y*size[0] + x) * 3
					want[i], want[i+1], want[i+2] = r, g, b
				})
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("region %v → %v align %v: value %d = %g, want %g", r, size, align, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func BenchmarkResize(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 1000, 750))
	dst := make([]float32, 512*512*3)
	for b.Loop() {
		Resize(src, src.Rect, 512, 512, func(x, y int, r, g, bl float32) {
			i := (y*512 + x) * 3
			dst[i], dst[i+1], dst[i+2] = r, g, bl
		})
	}
}

func BenchmarkDecode12MP(b *testing.B) {
	big := encJPEG(b, quadrants(4000, 3000))
	b.Run("turbo-scaled", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(big, DefaultOptions); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib-full", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(big)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(encJPEG(f, quadrants(16, 8)))
	f.Add(withOrientation(encJPEG(f, quadrants(16, 8)), 8))
	var pb bytes.Buffer
	png.Encode(&pb, quadrants(8, 8))
	f.Add(pb.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, Options{MaxPixels: 1 << 20, MinSide: 64})
		if err != nil {
			return
		}
		if p.RGB == nil || p.Width <= 0 || p.Height <= 0 || p.Scale < 1 {
			t.Fatalf("decoded %+v", p)
		}
	})
}
