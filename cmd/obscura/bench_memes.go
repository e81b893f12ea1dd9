package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/featurebench"
	"github.com/obscuraproject/obscura/internal/vision"
)

// benchMemes is `obscura bench memes`: three meme drafts of a 12 MP photo
// against analysing it alone, in the same run, and the caption filter's
// throughput against lower-casing and splitting the same captions.
func (a *app) benchMemes(ctx context.Context, dir string, out map[string]any, b *strings.Builder) error {
	fmt.Fprintln(a.stderr, "benchmarking three meme drafts of a 12 MP photo against analysing it alone, and the caption filter …")
	mdir := models.DefaultDir(a.getenv)
	eng, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: 2})
	if err != nil {
		return err
	}
	defer eng.Close()
	sample, err := models.Pinned().Load(mdir, "sample5.jpg")
	if err != nil {
		return err
	}
	photo, err := featurebench.Upscale12MP(sample)
	if err != nil {
		return err
	}
	row, err := featurebench.RunMemes(ctx, dir, eng, photo, 3)
	if err != nil {
		return err
	}
	out["memes"] = row
	fmt.Fprintf(b, "\nmemes (3 drafts of sample5.jpg at 12 MP, 2 threads): %.0f ms, analysis alone (faces, tags, sensitive) %.0f ms, ratio %.2f\n",
		row.MemesMs, row.AnalyzeMs, row.Ratio)
	fmt.Fprintf(b, "caption filter: %.0f captions/s (library captions), baseline lower+split %.0f captions/s, ratio %.3f\n",
		row.FilterPerSec, row.BaselinePerSec, row.FilterPerSec/row.BaselinePerSec)
	return nil
}
