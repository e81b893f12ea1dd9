package mediabench

import (
	"context"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/perf/procstat"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// StepRow is one step of a 12 MP analysis measured on its own: wall and
// CPU milliseconds and minor page faults per run.
type StepRow struct {
	Step   string  `json:"step"`
	WallMs float64 `json:"wall_ms"`
	CPUMs  float64 `json:"cpu_ms"`
	Faults int64   `json:"faults"`
}

// RunSteps profiles an analysis of e's 12 MP photo step by step, in this
// process (issue 25.6: where the time goes): the scaled decode, each
// model's Go-side preprocessing and its session run, and, to show what
// the session options are worth, CenterNet and ArcFace in sessions that
// spin (ONNX Runtime's default) and CenterNet with one intra-op thread.
// With a pool, the decode in a worker with its pixels sent back is a step
// too.
func RunSteps(ctx context.Context, e *VisionEnv, pool PipelinePool, reps int) ([]StepRow, error) {
	var rows []StepRow
	var ferr error
	step := func(name string, f func() error) {
		if ferr != nil {
			return
		}
		if ferr = f(); ferr != nil { // warm-up
			ferr = fmt.Errorf("%s: %w", name, ferr)
			return
		}
		f0 := procstat.MinorFaults()
		c0, w0 := procstat.CPU(nil), time.Now()
		for range reps {
			if ferr = f(); ferr != nil {
				ferr = fmt.Errorf("%s: %w", name, ferr)
				return
			}
		}
		n := time.Duration(reps)
		rows = append(rows, StepRow{Step: name, WallMs: pipeMs(time.Since(w0) / n), CPUMs: pipeMs((procstat.CPU(nil) - c0) / n),
			Faults: (procstat.MinorFaults() - f0) / int64(reps)})
	}
	var p *picture.Picture
	step("decode at 1/2 scale (2000x1456)", func() (err error) {
		p, err = picture.Decode(e.Photo, picture.DefaultOptions)
		return err
	})
	if ferr != nil {
		return rows, ferr
	}
	faces, err := e.det.Detect(ctx, p)
	if err != nil {
		return rows, err
	}
	ident, err := arcface.New(mustLoad(e.dir, arcface.ModelFile), e.threads)
	if err != nil {
		return rows, err
	}
	defer ident.Close()
	var bfIn, cnIn, nsIn []float32
	idIn := make([][]float32, len(faces))
	step("BlazeFace input (resize, letterbox)", func() error { bfIn = blazeface.Input(p); return nil })
	step("BlazeFace run", func() error { _, err := e.det.Raw(bfIn); return err })
	step(fmt.Sprintf("ArcFace inputs (align, warp) x%d", len(faces)), func() error {
		for i, f := range faces {
			idIn[i] = arcface.Input(p, f, ident.Order)
		}
		return nil
	})
	step(fmt.Sprintf("ArcFace runs x%d", len(faces)), func() error {
		for _, in := range idIn {
			if _, err := ident.Raw(in); err != nil {
				return err
			}
		}
		return nil
	})
	step("CenterNet input (resize 512x512)", func() error { cnIn = centernet.Input(p); return nil })
	step("CenterNet run", func() error { _, err := e.objs.Raw(cnIn); return err })
	step("nsfw input (resize 224x224)", func() error { nsIn = nsfw.Input(p); return nil })
	step("nsfw run", func() error { _, err := e.nsfw.Raw(nsIn, 1); return err })
	// The session options: the same models in sessions that spin, and
	// CenterNet on one thread.
	ort.SetSpinning(true)
	spinCN, err := centernet.New(mustLoad(e.dir, centernet.ModelFile), e.threads)
	if err == nil {
		defer spinCN.Close()
		var spinID *arcface.Embedder
		if spinID, err = arcface.New(mustLoad(e.dir, arcface.ModelFile), e.threads); err == nil {
			defer spinID.Close()
			step("CenterNet run, session spinning (ORT default)", func() error { _, err := spinCN.Raw(cnIn); return err })
			step(fmt.Sprintf("ArcFace runs x%d, session spinning", len(faces)), func() error {
				for _, in := range idIn {
					if _, err := spinID.Raw(in); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	ort.SetSpinning(false)
	if err != nil {
		return rows, err
	}
	one, err := centernet.New(mustLoad(e.dir, centernet.ModelFile), 1)
	if err != nil {
		return rows, err
	}
	defer one.Close()
	step("CenterNet run, 1 intra-op thread", func() error { _, err := one.Raw(cnIn); return err })
	if pool != nil {
		// The worker's CPU is not in this process's: read it too.
		n0 := len(rows)
		pids := pool.PIDs
		c0, w0 := procstat.CPU(pids), time.Now()
		for range reps {
			q, err := pool.Decode(e.Photo)
			if err != nil {
				return rows, err
			}
			pool.Release(q)
		}
		n := time.Duration(reps)
		rows = append(rows[:n0], StepRow{Step: "decode in a worker, pixels sent back", WallMs: pipeMs(time.Since(w0) / n), CPUMs: pipeMs((procstat.CPU(pids) - c0) / n)})
	}
	return rows, ferr
}
