package mediabench

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/sanitize"
)

// TestMixedLibrary: the import benchmark's library mixes sizes, formats
// and EXIF orientations, and every photo passes ingest's sanitizer.
func TestMixedLibrary(t *testing.T) {
	var srcs [][]byte
	for _, c := range []rgb{{200, 40, 40}, {40, 200, 40}} {
		img := image.NewRGBA(image.Rect(0, 0, 300, 200))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.r, c.g, byte(i/4%251), 255
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, buf.Bytes())
	}
	lib, err := MixedLibrary(srcs, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) != 12 {
		t.Fatalf("got %d photos, want 12", len(lib))
	}
	formats, orients, sides := map[sanitize.Format]int{}, map[int]int{}, map[int]bool{}
	for i, p := range lib {
		res, err := sanitize.Sanitize(p, sanitize.DefaultLimits)
		if err != nil {
			t.Fatalf("photo %d: %v", i, err)
		}
		formats[res.Format]++
		orients[res.Orientation]++
		sides[max(res.Width, res.Height)] = true
	}
	if formats[sanitize.JPEG] == 0 || formats[sanitize.PNG] == 0 {
		t.Errorf("formats %v, want JPEG and PNG", formats)
	}
	if len(orients) < 3 {
		t.Errorf("orientations %v, want at least three", orients)
	}
	if len(sides) < 4 {
		t.Errorf("long sides %v, want four", sides)
	}
}

type rgb struct{ r, g, b byte }

// BenchmarkPipeline: analyze of the 12 MP photo in process beside the bare
// models plus one scaled decode (the sandboxed cases run in `obscura
// bench pipeline`, which can start workers).
func BenchmarkPipeline(b *testing.B) {
	e, err := NewVisionEnv(models.DefaultDir(os.Getenv), 2)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	rep, err := RunPipeline(context.Background(), e, nil, 0, max(b.N, 3), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rep.Rows {
		b.ReportMetric(r.CPUMs, "cpu-ms/"+r.Case)
	}
	b.ReportMetric(rep.AnalyzeVsBareCPU, "analyze/bare-cpu")
}

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
