package mediabench

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"testing"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/wire"
)

// IngestEnv measures the upload pipeline.
type IngestEnv struct {
	g   *wire.Graph
	svc *upload.Service
}

// NewIngestEnv builds a throwaway pipeline in dir.
func NewIngestEnv(ctx context.Context, dir string) (*IngestEnv, error) {
	b, err := perf.NewServices(ctx, dir, "ingest", nil)
	if err != nil {
		return nil, err
	}
	return &IngestEnv{g: b, svc: b.Uploads}, nil
}

// Close releases the environment.
func (e *IngestEnv) Close() error { return e.g.Close() }

// IngestCases: the pipeline for an upright photo (lossless metadata strip),
// for a sideways one (lossless DCT rotation), for a sideways one whose
// partial MCU blocks force decode, rotate, re-encode, and the baseline:
// stdlib decode + encode of the same file.
func (e *IngestEnv) IngestCases(ctx context.Context) []perf.Bench {
	upright, sideways, partial := perf.Photo12MP(1), perf.Photo12MP(6), perf.PhotoSized(4000, 3000, 6)
	ingest := func(data []byte) func(n int) error {
		return func(n int) error {
			for range n {
				if _, err := e.svc.Ingest(ctx, "ten_bench", "bench-subject", data); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []perf.Bench{
		{Name: "ingest/upright", Size: len(upright), Run: ingest(upright)},
		{Name: "ingest/rotated", Size: len(sideways), Run: ingest(sideways)},
		{Name: "ingest/rotated-partial-mcu", Size: len(partial), Run: ingest(partial)},
		{Name: "baseline/stdlib-decode-encode", Size: len(upright), Run: func(n int) error {
			for range n {
				img, err := jpeg.Decode(bytes.NewReader(upright))
				if err != nil {
					return err
				}
				if err := jpeg.Encode(io.Discard, img, &jpeg.Options{Quality: 92}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// IngestRow is one ingest figure.
type IngestRow struct {
	Case       string  `json:"case"`
	MsPerPhoto float64 `json:"ms_per_photo"`
	VsBaseline float64 `json:"speedup_vs_decode_encode"`
}

// RunIngest measures the ingest cases.
func RunIngest(ctx context.Context, dir string) ([]IngestRow, error) {
	e, err := NewIngestEnv(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var rows []IngestRow
	ms := map[string]float64{}
	for _, c := range e.IngestCases(ctx) {
		r := testing.Benchmark(c.Op)
		ms[c.Name] = float64(r.NsPerOp()) / 1e6
		rows = append(rows, IngestRow{Case: c.Name, MsPerPhoto: ms[c.Name]})
	}
	base := ms["baseline/stdlib-decode-encode"]
	for i := range rows {
		if rows[i].MsPerPhoto > 0 {
			rows[i].VsBaseline = base / rows[i].MsPerPhoto
		}
	}
	return rows, nil
}
