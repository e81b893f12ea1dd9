package featurebench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"

	"golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// MemeEnv compares making three meme drafts of a stored 12 MP photo (the
// consented run: decrypt, decode, the safety checks and tags, caption
// ranking and filtering, rendering three memes, stamping and sealing three
// drafts) with analysing the same stored photo alone (decrypt, decode,
// faces + tags + sensitive, sealing the results), in the graph serve
// builds.
type MemeEnv struct {
	g     *wire.Graph
	asset string
}

// MemeFeatures are what the analysis baseline runs: the models a meme run
// runs (its safety checks and tags).
var MemeFeatures = []string{vision.Faces, vision.Tags, vision.Sensitive}

// Upscale12MP returns photo scaled to 4000×3000 (a phone's 12 MP) as a
// JPEG, so a real photo's content drives the models.
func Upscale12MP(photo []byte) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(photo))
	if err != nil {
		return nil, fmt.Errorf("decode sample: %w", err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, dst, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewMemeEnv wires the stack in dir with eng and stores photo for a
// subject who granted meme_generation and tagging.
func NewMemeEnv(ctx context.Context, dir string, eng *vision.Engine, photo []byte) (*MemeEnv, error) {
	g, err := perf.NewServices(ctx, dir, "memes", eng)
	if err != nil {
		return nil, err
	}
	as, err := g.Uploads.Ingest(ctx, perf.Tenant, "bench-subject", photo)
	if err != nil {
		g.Close()
		return nil, err
	}
	for _, p := range []string{meme.Purpose, "tagging", "face_detection", "sensitive_content"} {
		if _, err := g.Consents.Grant(ctx, perf.Tenant, "bench-subject", consent.Grant{Purpose: p, Notice: "bench"}); err != nil {
			g.Close()
			return nil, err
		}
	}
	return &MemeEnv{g: g, asset: as.ID}, nil
}

// Close flushes the audit log and closes the store.
func (e *MemeEnv) Close() error { return e.g.Close() }

// Memes makes three meme drafts of the photo and deletes them again
// (outside what callers time, if they stop the timer around Discard).
func (e *MemeEnv) Memes(ctx context.Context) ([]string, error) {
	made, err := e.g.Memes.Generate(ctx, perf.Tenant, "", e.asset, meme.Request{Count: 3})
	if err != nil {
		return nil, err
	}
	if len(made) != 3 {
		return nil, fmt.Errorf("%d meme drafts, want 3", len(made))
	}
	ids := make([]string, len(made))
	for i, m := range made {
		ids[i] = m.Draft.ID
	}
	return ids, nil
}

// Discard rejects drafts.
func (e *MemeEnv) Discard(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := e.g.Drafts.Reject(ctx, perf.Tenant, id); err != nil {
			return err
		}
	}
	return nil
}

// Analyze analyses the same stored photo alone.
func (e *MemeEnv) Analyze(ctx context.Context) error {
	_, err := e.g.Analyses.Analyze(ctx, perf.Tenant, e.asset, MemeFeatures)
	return err
}

// MemeRow is the meme figures of one run, with the caption filter's
// throughput on the caption library (the only bench line for the filter).
type MemeRow struct {
	MemesMs   float64 `json:"memes_ms"`   // three drafts of a 12 MP photo
	AnalyzeMs float64 `json:"analyze_ms"` // analysing it alone
	Ratio     float64 `json:"ratio"`      // memes / analyze
	// FilterPerSec is the caption filter's throughput over the caption
	// library's captions; BaselinePerSec lower-cases and splits the same
	// captions (the cheapest pass any word filter makes).
	FilterPerSec   float64 `json:"filter_captions_per_s"`
	BaselinePerSec float64 `json:"baseline_captions_per_s"`
}

// LibraryCaptions are the caption library's captions, filled for a dog
// photo with text, as the filter sees them.
func LibraryCaptions() ([]string, error) {
	lib, err := meme.DefaultLibrary()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range lib.Rank(meme.Cues{Tags: []meme.TagCue{{Label: "dog", Score: 0.9}, {Label: "pizza", Score: 0.5}}, Text: "OPEN 24 HOURS"}, 1) {
		out = append(out, strings.TrimSpace(c.Top+" "+c.Bottom))
	}
	return out, nil
}

// RunFilter measures the caption filter's throughput (captions/s) and
// the baseline's.
func RunFilter() (filter, baseline float64, err error) {
	f, err := textfilter.New()
	if err != nil {
		return 0, 0, err
	}
	caps, err := LibraryCaptions()
	if err != nil {
		return 0, 0, err
	}
	sink := 0
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			for _, c := range caps {
				sink += len(f.Check(c, textfilter.Options{Names: []string{"Ann Example"}}).Categories)
			}
		}
	})
	base := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			for _, c := range caps {
				sink += len(strings.Fields(strings.ToLower(c)))
			}
		}
	})
	_ = sink
	per := func(r testing.BenchmarkResult) float64 {
		return float64(len(caps)) / (float64(r.NsPerOp()) / 1e9)
	}
	return per(r), per(base), nil
}

// RunMemes measures three meme drafts against analysis alone on the same
// stored 12 MP photo (each a few runs: the figures are seconds each), and
// the caption filter.
func RunMemes(ctx context.Context, dir string, eng *vision.Engine, photo12 []byte, runs int) (MemeRow, error) {
	e, err := NewMemeEnv(ctx, dir, eng, photo12)
	if err != nil {
		return MemeRow{}, err
	}
	defer e.Close()
	// One warm-up of each (first-call allocations, caches).
	if ids, err := e.Memes(ctx); err != nil {
		return MemeRow{}, err
	} else if err := e.Discard(ctx, ids); err != nil {
		return MemeRow{}, err
	}
	if err := e.Analyze(ctx); err != nil {
		return MemeRow{}, err
	}
	var memes, analyze time.Duration
	for range runs {
		t0 := time.Now()
		ids, err := e.Memes(ctx)
		if err != nil {
			return MemeRow{}, err
		}
		memes += time.Since(t0)
		if err := e.Discard(ctx, ids); err != nil {
			return MemeRow{}, err
		}
		t0 = time.Now()
		if err := e.Analyze(ctx); err != nil {
			return MemeRow{}, err
		}
		analyze += time.Since(t0)
	}
	row := MemeRow{MemesMs: float64(memes.Milliseconds()) / float64(runs), AnalyzeMs: float64(analyze.Milliseconds()) / float64(runs)}
	row.Ratio = row.MemesMs / row.AnalyzeMs
	if row.FilterPerSec, row.BaselinePerSec, err = RunFilter(); err != nil {
		return MemeRow{}, err
	}
	return row, nil
}
