package meme

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/gobold"
)

func TestFontPinned(t *testing.T) {
	sum := sha256.Sum256(gobold.TTF)
	if hex.EncodeToString(sum[:]) != FontSHA256 {
		t.Fatalf("font hash %x", sum)
	}
}

func grey(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return img
}

// markers lists the JPEG marker segments of b up to SOS.
func markers(b []byte) []byte {
	var out []byte
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		out = append(out, m)
		if m == 0xDA {
			break
		}
		i += 2 + int(b[i+2])<<8 + int(b[i+3])
	}
	return out
}

func TestRender(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		w, h        int
		top, bottom string
		wantW       int
	}{
		{"classic", 800, 600, "one does not simply", "take just one photo", 800},
		{"12 MP scaled", 4000, 3000, "big", "photo", MaxSide},
		{"long wraps", 640, 480, "this is a rather long caption that has to wrap onto more than one line", "", 640},
		{"greek and cyrillic", 600, 400, "γειά σου", "привет мир", 600},
		{"bottom only", 300, 300, "", "Nailed it", 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := r.Render(grey(tc.w, tc.h), tc.top, tc.bottom)
			if err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil || img.Bounds().Dx() != tc.wantW {
				t.Fatalf("decode: %v, width %d", err, img.Bounds().Dx())
			}
			for _, m := range markers(b) {
				if m >= 0xE1 && m <= 0xEF || m == 0xFE {
					t.Errorf("metadata segment FF%02X in the output", m)
				}
			}
			// White fill and black outline where the caption is; the
			// grey photo elsewhere.
			var white, black int
			band := img.Bounds()
			if tc.top == "" {
				band.Min.Y = band.Max.Y * 3 / 4
			} else {
				band.Max.Y = band.Max.Y / 4
			}
			for y := band.Min.Y; y < band.Max.Y; y++ {
				for x := band.Min.X; x < band.Max.X; x++ {
					g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
					switch {
					case g > 230:
						white++
					case g < 25:
						black++
					}
				}
			}
			if white < 100 || black < 100 {
				t.Errorf("caption band has %d white and %d black pixels", white, black)
			}
		})
	}
	if _, err := r.Render(grey(100, 100), "你好", ""); err != ErrGlyph {
		t.Errorf("CJK caption: %v, want ErrGlyph", err)
	}
	if _, err := r.Render(grey(20, 20), "supercalifragilisticexpialidocious", ""); err == nil {
		t.Error("a word wider than a tiny photo rendered")
	}
}

// FuzzRender: any caption text (the user's own reaches the renderer after
// the filter) renders or is refused with an error; never a panic.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"one does not simply", "", "γειά σου", "你好", "a\u200bb\u0301c", strings.Repeat("W", 200), "\x00\xff"} {
		f.Add(s, "bottom")
	}
	r, err := NewRenderer()
	if err != nil {
		f.Fatal(err)
	}
	img := grey(160, 120)
	f.Fuzz(func(t *testing.T, top, bottom string) {
		b, err := r.Render(img, top, bottom)
		if err != nil {
			return
		}
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("rendered bytes do not decode: %v", err)
		}
	})
}
