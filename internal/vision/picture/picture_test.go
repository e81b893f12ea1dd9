package picture

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
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
