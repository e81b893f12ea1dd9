package mediabench

import (
	"context"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision"
)

// BenchmarkIngest: a 12 MP JPEG through sniff + sanitize + encrypt + store,
// beside stdlib decode+encode of the same file.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	e, err := NewIngestEnv(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, c := range e.IngestCases(ctx) {
		b.Run(c.Name, c.Op)
	}
}

func TestIngestCasesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("12 MP encode skipped in -short mode")
	}
	ctx := context.Background()
	e, err := NewIngestEnv(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range e.IngestCases(ctx) {
		if err := c.Run(1); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// BenchmarkVision: each model through Obscura's path (preprocessing from a
// decoded picture, session, postprocessing) beside the bare ONNX Runtime
// session on the same tensor; and a full analysis of a 12 MP JPEG beside
// the bare model time it contains.
func BenchmarkVision(b *testing.B) {
	e, err := NewVisionEnv(models.DefaultDir(os.Getenv), 2)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	cases, err := e.Cases(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cases {
		b.Run(c.Name+"/obscura", func(b *testing.B) {
			for b.Loop() {
				c.Ours()
			}
		})
		b.Run(c.Name+"/bare-ort", func(b *testing.B) {
			for b.Loop() {
				c.Base()
			}
		})
	}
}

// BenchmarkAnalysisAPI: faces + tags + sensitive on a sample photo through
// the HTTP API (auth, rate limit, audit, consent gate, decrypting the
// stored photo, hardening, sealing results) beside the same analysis in
// process.
func BenchmarkAnalysisAPI(b *testing.B) {
	dir := models.DefaultDir(os.Getenv)
	eng, err := vision.Open(models.Pinned(), dir, vision.Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	photo, err := models.Pinned().Load(dir, "sample5.jpg")
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewAnalysisEnv(context.Background(), b.TempDir(), eng, photo)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.Run("http", func(b *testing.B) {
		for b.Loop() {
			if err := e.HTTP(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			if err := e.InProcess(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
