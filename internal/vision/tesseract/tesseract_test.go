package tesseract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func TestOpenRefusesMissingOrAlteredModel(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(DefaultDir, "eng.traineddata"))
	if err != nil {
		t.Fatalf("tesseract-ocr-eng not installed (make test installs it): %v", err)
	}
	altered := t.TempDir()
	b := append([]byte{}, orig...)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(filepath.Join(altered, "eng.traineddata"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"missing": t.TempDir(), "one byte altered": altered} {
		if _, err := Open(dir, 1); !errors.Is(err, ErrModel) {
			t.Errorf("%s: Open = %v, want ErrModel", name, err)
		}
	}
	r, err := Open(DefaultDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

// TestReadLine reads rendered lines in each style, dark and light text.
func TestReadLine(t *testing.T) {
	r, err := Open(DefaultDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := "Fresh bread baked every morning"
	for _, st := range []visiontest.Style{visiontest.Document, visiontest.Meme, visiontest.Sign} {
		p, boxes := visiontest.RenderText(t, []string{want}, st, 40, "sample2.jpg")
		got, err := r.ReadLine(context.Background(), p, boxes[0])
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != want || got.Score < 0.8 || got.Score > 1 {
			t.Errorf("%s: read %q (%.2f), want %q", st, got.Text, got.Score, want)
		}
	}
	// Blank wall: nothing to read.
	p, _ := visiontest.RenderText(t, nil, visiontest.Document, 40, "")
	got, err := r.ReadLine(context.Background(), p, geom.Rect{X: 10, Y: 10, W: 400, H: 60})
	if err != nil || got.Text != "" {
		t.Errorf("blank: %q, %v", got.Text, err)
	}
	// Cancelled context while waiting for an engine.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	<-r.pool
	defer func() { r.pool <- nil }()
	p, boxes := visiontest.RenderText(t, []string{want}, visiontest.Document, 40, "")
	if _, err := r.ReadLine(ctx, p, boxes[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestOtsu(t *testing.T) {
	var h [256]int
	h[20], h[30], h[200], h[220] = 100, 50, 400, 10
	if got := otsu(h, 560); got < 30 || got >= 200 {
		t.Errorf("otsu = %d, want between the two modes", got)
	}
	var flat [256]int
	flat[128] = 9
	if got := otsu(flat, 9); got != 0 {
		t.Errorf("otsu of one level = %d", got)
	}
}
