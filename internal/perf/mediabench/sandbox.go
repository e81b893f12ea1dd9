package mediabench

import (
	"context"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/sandbox"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// SandboxRow is one case of the sandbox benchmark, in milliseconds.
type SandboxRow struct {
	Case string  `json:"case"`
	Ms   float64 `json:"ms"`
}

// SandboxReport compares the sandboxed pipeline with the same work in
// process and with the bare models plus one scaled decode, all measured in
// the same run on the same 12 MP photo.
type SandboxReport struct {
	Rows []SandboxRow `json:"rows"`
	// AnalyzeVsInProcess is sandboxed / in-process analyze time.
	AnalyzeVsInProcess float64 `json:"analyze_vs_in_process"`
	// AnalyzeVsBare is sandboxed analyze / (bare models + one scaled decode).
	AnalyzeVsBare float64 `json:"analyze_vs_bare_plus_decode"`
	// IngestVsInProcess is sandboxed / in-process sanitize of the photo mix.
	IngestVsInProcess float64 `json:"ingest_vs_in_process"`
}

// RunSandbox measures analyze of the vision environment's 12 MP photo
// (faces with embeddings, tags, sensitive) through pool, in process, and
// as bare sessions plus one scaled decode; and sanitizing a mix of photos
// (upright, sideways, PNG) through pool and in process.
func RunSandbox(ctx context.Context, e *VisionEnv, pool *sandbox.Pool) (SandboxReport, error) {
	type engine interface {
		Decode(data []byte) (*picture.Picture, error)
		AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
		Embeddings(ctx context.Context, p *picture.Picture) ([]vision.Embedding, error)
	}
	analyze := func(eng engine) func() error {
		return func() error {
			p, err := eng.Decode(e.Photo)
			if err != nil {
				return err
			}
			if _, err := eng.AnalyzePicture(ctx, p, []string{vision.Tags, vision.Sensitive}); err != nil {
				return err
			}
			_, err = eng.Embeddings(ctx, p)
			return err
		}
	}
	cases, err := e.Cases(ctx)
	if err != nil {
		return SandboxReport{}, err
	}
	bare := cases[len(cases)-1].Base
	bareDecode := func() error {
		if _, err := picture.Decode(e.Photo, picture.DefaultOptions); err != nil {
			return err
		}
		bare()
		return nil
	}
	mix := [][]byte{perf.Photo12MP(1), perf.Photo12MP(6), perf.PhotoSized(1600, 1200, 1)}
	sanitizeWith := func(z func([]byte) error) func() error {
		return func() error {
			for _, m := range mix {
				if err := z(m); err != nil {
					return err
				}
			}
			return nil
		}
	}
	inProc := sanitizeWith(func(b []byte) error { _, err := sanitize.Sanitize(b, sanitize.DefaultLimits); return err })
	sandboxed := sanitizeWith(func(b []byte) error {
		_, err := pool.Sanitize(ctx, b, sanitize.DefaultLimits)
		return err
	})
	var firstErr error
	measure := func(f func() error) float64 {
		if err := f(); err != nil && firstErr == nil { // warm up, and fail early
			firstErr = err
		}
		r := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				if err := f(); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		})
		return float64(r.NsPerOp()) / float64(time.Millisecond)
	}
	rep := SandboxReport{}
	add := func(name string, ms float64) float64 {
		rep.Rows = append(rep.Rows, SandboxRow{Case: name, Ms: ms})
		return ms
	}
	sb := add("analyze 12MP sandboxed", measure(analyze(pool)))
	ip := add("analyze 12MP in process", measure(analyze(e.Eng)))
	bd := add("bare models + scaled decode", measure(bareDecode))
	is := add("sanitize mix sandboxed", measure(sandboxed))
	ii := add("sanitize mix in process", measure(inProc))
	rep.AnalyzeVsInProcess, rep.AnalyzeVsBare, rep.IngestVsInProcess = sb/ip, sb/bd, is/ii
	return rep, firstErr
}
