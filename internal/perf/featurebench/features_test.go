package featurebench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/vision"
)

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
