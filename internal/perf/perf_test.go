package perf

import (
	"context"
	"fmt"
	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/vision"
	"os"
	"strings"
	"testing"
)

// BenchmarkStorage: compare put/sealed with put/raw-file and put/raw-aes-gcm
// (and get/… likewise) for each size; `obscura bench` prints the ratios.
func BenchmarkStorage(b *testing.B) {
	ctx := context.Background()
	e, err := NewStorageEnv(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, size := range Sizes {
		for _, c := range e.StorageCases(ctx, size) {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, c.Name), c.Op)
		}
	}
}

// TestStorageCasesRun checks every case runs once and does real work, so a
// broken benchmark is caught by `make test` rather than at bench time.
func TestStorageCasesRun(t *testing.T) {
	ctx := context.Background()
	e, err := NewStorageEnv(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cases := e.StorageCases(ctx, 100<<10)
	if len(cases) != 6 {
		t.Fatalf("%d cases, want 6", len(cases))
	}
	for _, c := range cases {
		if c.Setup != nil {
			if err := c.Setup(); err != nil {
				t.Fatalf("%s setup: %v", c.Name, err)
			}
		}
		if err := c.Run(2); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

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

// BenchmarkAPI: GET /v1/tenant through the whole stack (auth, rate limit,
// durable audit append, metrics, logging) beside a bare net/http handler.
func BenchmarkAPI(b *testing.B) {
	e, err := NewAPIEnv(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for name, h := range e.Handlers() {
		b.Run(name, e.Parallel(h))
	}
}

func TestAPICasesRun(t *testing.T) {
	e, err := NewAPIEnv(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for name, h := range e.Handlers() {
		if _, err := e.P99(h, 5); err != nil {
			t.Errorf("%s: %v", name, err)
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

// BenchmarkMemes12MP: three meme drafts of a stored 12 MP photo beside
// analysing the same photo alone (the models a meme run runs), in the
// graph serve builds; obscura bench memes prints the ratio.
func BenchmarkMemes12MP(b *testing.B) {
	dir := models.DefaultDir(os.Getenv)
	eng, err := vision.Open(models.Pinned(), dir, vision.Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	sample, err := models.Pinned().Load(dir, "sample5.jpg")
	if err != nil {
		b.Fatal(err)
	}
	photo, err := Upscale12MP(sample)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e, err := NewMemeEnv(ctx, b.TempDir(), eng, photo)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.Run("memes", func(b *testing.B) {
		for b.Loop() {
			ids, err := e.Memes(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := e.Discard(ctx, ids); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("analyze", func(b *testing.B) {
		for b.Loop() {
			if err := e.Analyze(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCaptionFilter: the sensitive-attribute filter over the caption
// library's captions, beside lower-casing and splitting them.
func BenchmarkCaptionFilter(b *testing.B) {
	f, err := textfilter.New()
	if err != nil {
		b.Fatal(err)
	}
	caps, err := LibraryCaptions()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("filter", func(b *testing.B) {
		for b.Loop() {
			for _, c := range caps {
				f.Check(c, textfilter.Options{})
			}
		}
		b.ReportMetric(float64(len(caps)*b.N)/b.Elapsed().Seconds(), "captions/s")
	})
	b.Run("baseline-lower-split", func(b *testing.B) {
		for b.Loop() {
			for _, c := range caps {
				strings.Fields(strings.ToLower(c))
			}
		}
		b.ReportMetric(float64(len(caps)*b.N)/b.Elapsed().Seconds(), "captions/s")
	})
}

// BenchmarkProvenance: C2PA sign+embed, watermark embed and detect of a
// 12 MP image, beside one JPEG encode of the same image.
func BenchmarkProvenance(b *testing.B) {
	ctx := context.Background()
	e, err := NewProvenanceEnv(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, c := range e.ProvenanceCases(ctx) {
		b.Run(c.Name, c.Op)
	}
}
