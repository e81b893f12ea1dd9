package importbench

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/obscuraproject/obscura/internal/sanitize"
)

// TestNumbered: the import library's numbered copies are distinct files
// that still decode and sanitize to the same pixels (JPEG and PNG).
func TestNumbered(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var j, p bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	for _, src := range [][]byte{j.Bytes(), p.Bytes()} {
		a, b := numbered(src, 1), numbered(src, 2)
		if bytes.Equal(a, b) || bytes.Equal(a, src) {
			t.Fatal("numbered copies are not distinct")
		}
		want, err := sanitize.Sanitize(src, sanitize.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]byte{a, b} {
			got, err := sanitize.Sanitize(c, sanitize.DefaultLimits)
			if err != nil {
				t.Fatalf("numbered copy: %v", err)
			}
			if got.Width != want.Width || got.Height != want.Height || got.Format != want.Format {
				t.Fatalf("numbered copy sanitized to %dx%d %v, want %dx%d %v", got.Width, got.Height, got.Format, want.Width, want.Height, want.Format)
			}
			if bytes.Contains(got.Data, []byte("bench photo")) {
				t.Fatal("the number survived sanitizing")
			}
		}
	}
}
