package mediabench

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
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
