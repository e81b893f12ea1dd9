package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/faces/calibrate"
	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// calibrateCmd is `obscura faces calibrate DIR`: it measures the face
// embedder on a folder of labelled people (docs/faces.md).
func (a *app) calibrateCmd() *cobra.Command {
	var variants bool
	var split int
	var model string
	cmd := &cobra.Command{
		Use:   "calibrate [--variants] [--split K] [--model arcface|faceres|…] [--json] DIR",
		Short: "Measure face matching on a folder of labelled people (one sub-folder per person)",
		Long: `Forms every genuine (same person) and impostor (different people) pair of the
largest face of each photo and prints ROC points, the equal error rate, the
false non-match rate at false-match rates of 1% and 0.1%, and the rates at the
shipped suggest and compare thresholds. --variants adds degraded copies of
every photo (greyscale, 40–100 px faces, JPEG quality 30–60, screenshot PNG),
each compared against the other photos' originals. --split K reports on each
of K groups of people at thresholds chosen on the others (K-fold by person).
--model picks the embedder: arcface (the shipped one), faceres (the older
one), or the measurement-only arcface-rgb, arcface-unaligned, arcface-flip
(the crop and its mirror embedded and averaged) and faceres-aligned.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if split == 1 || split < 0 || split > 20 {
				return errors.New("--split is 0 (no split) or 2 to 20 folds")
			}
			photos, err := calibrate.ReadDir(args[0])
			if err != nil {
				return err
			}
			if len(photos) < 2 {
				return fmt.Errorf("%s: need at least two photos in person sub-folders", args[0])
			}
			embed, closeFn, err := a.calibrationEmbedder(model)
			if err != nil {
				return err
			}
			defer closeFn()
			var vs []string
			if variants {
				vs = calibrate.Variants
			}
			var n int
			var spent time.Duration
			timed := func(ctx context.Context, data []byte) ([]float32, float64, error) {
				v, w, d, err := embed(ctx, data)
				if err == nil {
					n++
					spent += d
				}
				return v, w, err
			}
			fs, missed, err := calibrate.EmbedAll(cmd.Context(), photos, timed, vs)
			if err != nil {
				return err
			}
			suggest, compare, unsure := faces.SuggestThreshold, faces.CompareThreshold, faces.UnsureThreshold
			if model == "faceres" || model == "faceres-aligned" {
				suggest, compare, unsure = faceres.Threshold, faceres.Threshold, 0
			}
			r := calibrate.Measure(fs, missed, vs, split, suggest, compare, unsure)
			r.Model = model
			if n > 0 {
				r.MsPerFace = float64(spent.Microseconds()) / 1000 / float64(n)
			}
			return a.print(r, r.Text())
		},
	}
	cmd.Flags().BoolVar(&variants, "variants", false, "also measure degraded copies of every photo")
	cmd.Flags().IntVar(&split, "split", 2, "report on K groups of people at thresholds chosen on the others (0: no split)")
	cmd.Flags().StringVar(&model, "model", "arcface", "embedder: arcface, faceres, arcface-rgb, arcface-unaligned, arcface-flip, faceres-aligned")
	return cmd
}

// calibrationEmbedder loads the detector and the named embedder. Its embed
// returns the largest face's embedding, box width and embedding time.
func (a *app) calibrationEmbedder(model string) (func(context.Context, []byte) ([]float32, float64, time.Duration, error), func(), error) {
	m, dir := models.Pinned(), models.DefaultDir(a.getenv)
	if err := ort.Init(m, dir); err != nil {
		return nil, nil, err
	}
	b, err := m.Load(dir, blazeface.ModelFile)
	if err != nil {
		return nil, nil, err
	}
	det, err := blazeface.New(b, a.visionThreads())
	if err != nil {
		return nil, nil, err
	}
	var emb interface {
		Embed(context.Context, *picture.Picture, blazeface.Face) ([]float32, error)
		Close() error
	}
	switch model {
	case "arcface-flip":
		if b, err = m.Load(dir, arcface.ModelFile); err == nil {
			var e *arcface.Embedder
			if e, err = arcface.New(b, a.visionThreads()); err == nil {
				emb = flipEmbedder{e}
			}
		}
	case "arcface", "arcface-rgb", "arcface-unaligned":
		if b, err = m.Load(dir, arcface.ModelFile); err == nil {
			var e *arcface.Embedder
			if e, err = arcface.New(b, a.visionThreads()); err == nil {
				e.Unaligned = model == "arcface-unaligned"
				if model == "arcface-rgb" {
					e.Order = arcface.RGB
				}
				emb = e
			}
		}
	case "faceres", "faceres-aligned":
		if b, err = m.Load(dir, faceres.ModelFile); err == nil {
			var e *faceres.Embedder
			if e, err = faceres.New(b, a.visionThreads()); err == nil {
				e.Aligned = model == "faceres-aligned"
				emb = e
			}
		}
	default:
		err = fmt.Errorf("unknown --model %q", model)
	}
	if err != nil {
		det.Close()
		return nil, nil, err
	}
	closeFn := func() { emb.Close(); det.Close() }
	embed := func(ctx context.Context, data []byte) ([]float32, float64, time.Duration, error) {
		p, err := picture.Decode(data, picture.DefaultOptions)
		if err != nil {
			return nil, 0, 0, err
		}
		fs, err := det.Detect(ctx, p)
		if err != nil {
			return nil, 0, 0, err
		}
		if len(fs) == 0 {
			return nil, 0, 0, calibrate.ErrNoFace
		}
		big := fs[0]
		for _, f := range fs[1:] {
			if f.Box.Area() > big.Box.Area() {
				big = f
			}
		}
		start := time.Now()
		v, err := emb.Embed(ctx, p, big)
		return v, big.Box.W, time.Since(start), err
	}
	return embed, closeFn, nil
}

// flipEmbedder measures arcface with test-time flip augmentation
// (arcface.EmbedFlip; measurement only, docs/faces.md).
type flipEmbedder struct{ *arcface.Embedder }

// Embed is the flip-augmented embedding.
func (f flipEmbedder) Embed(ctx context.Context, p *picture.Picture, face blazeface.Face) ([]float32, error) {
	return f.EmbedFlip(ctx, p, face)
}

// compareLine is `faces compare`'s answer for people: the similarity, the
// three-way decision with the thresholds that made it (docs/faces.md).
func compareLine(m vision.Match) string {
	why := fmt.Sprintf("at or above %.2f", m.Threshold)
	switch m.Decision {
	case arcface.Unsure:
		why = fmt.Sprintf("%.2f to %.2f: look-alike different people score here too", m.UnsureThreshold, m.Threshold)
	case arcface.NoMatch:
		why = fmt.Sprintf("below %.2f", m.UnsureThreshold)
	}
	return fmt.Sprintf("similarity %.2f: %s (%s), match %v", m.Similarity, m.Decision, why, m.Match)
}
