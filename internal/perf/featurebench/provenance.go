package featurebench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"image"
	"image/jpeg"
	"io"
	"testing"

	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/watermark"
	"github.com/obscuraproject/obscura/internal/wire"
)

// ProvenanceEnv measures stamping generated images.
type ProvenanceEnv struct {
	g     *wire.Graph
	photo []byte      // 12 MP JPEG without metadata
	img   image.Image // decoded
}

// NewProvenanceEnv builds a throwaway graph in dir with the bench tenant's
// watermark off (so "sign" measures the manifest alone).
func NewProvenanceEnv(ctx context.Context, dir string) (*ProvenanceEnv, error) {
	g, err := perf.NewServices(ctx, dir, "provenance", nil)
	if err != nil {
		return nil, err
	}
	if err := g.Provenance.Init(ctx); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.Provenance.SetWatermark(ctx, perf.Tenant, false); err != nil {
		g.Close()
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(perf.Photo12MP(1)))
	if err != nil {
		g.Close()
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		g.Close()
		return nil, err
	}
	return &ProvenanceEnv{g: g, photo: buf.Bytes(), img: img}, nil
}

// Close releases the environment.
func (e *ProvenanceEnv) Close() error { return e.g.Close() }

// ProvenanceCases: C2PA sign + embed of a 12 MP JPEG (Stamp with the
// watermark off: header decode, manifest, Ed25519 signature through the key
// service, APP11 insertion), watermark embed and detect on the decoded
// image, and the baseline: one stdlib JPEG encode of the same image.
func (e *ProvenanceEnv) ProvenanceCases(ctx context.Context) []perf.Bench {
	key := watermark.Key(sha256.Sum256([]byte("bench")))
	var marked image.Image
	in := draft.StampInput{Tenant: perf.Tenant, Subject: "bench", SourceAsset: "ast_bench",
		Generator: draft.Generator{Feature: "meme", Name: "template:bench", Version: "1"}, JPEG: e.photo}
	return []perf.Bench{
		{Name: "c2pa/sign+embed", Size: len(e.photo), Run: func(n int) error {
			for range n {
				if _, err := e.g.Provenance.Stamp(ctx, in); err != nil {
					return err
				}
			}
			return nil
		}},
		{Name: "watermark/embed", Size: len(e.photo), Run: func(n int) error {
			for range n {
				m, err := watermark.Embed(e.img, key, 42)
				if err != nil {
					return err
				}
				marked = m
			}
			return nil
		}},
		{Name: "watermark/detect", Size: len(e.photo), Setup: func() error {
			var err error
			marked, err = watermark.Embed(e.img, key, 42)
			return err
		}, Run: func(n int) error {
			for range n {
				watermark.Detect(marked, key)
			}
			return nil
		}},
		{Name: "baseline/jpeg-encode", Size: len(e.photo), Run: func(n int) error {
			for range n {
				if err := jpeg.Encode(io.Discard, e.img, &jpeg.Options{Quality: 92}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// ProvenanceRow is one provenance figure.
type ProvenanceRow struct {
	Case     string  `json:"case"`
	Ms       float64 `json:"ms"`
	VsEncode float64 `json:"ratio_to_jpeg_encode"`
}

// RunProvenance measures the provenance cases on a 12 MP image.
func RunProvenance(ctx context.Context, dir string) ([]ProvenanceRow, error) {
	e, err := NewProvenanceEnv(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var rows []ProvenanceRow
	ms := map[string]float64{}
	for _, c := range e.ProvenanceCases(ctx) {
		r := testing.Benchmark(c.Op)
		ms[c.Name] = float64(r.NsPerOp()) / 1e6
		rows = append(rows, ProvenanceRow{Case: c.Name, Ms: ms[c.Name]})
	}
	base := ms["baseline/jpeg-encode"]
	for i := range rows {
		if base > 0 {
			rows[i].VsEncode = rows[i].Ms / base
		}
	}
	return rows, nil
}
