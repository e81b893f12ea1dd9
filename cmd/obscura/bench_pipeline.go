package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/mediabench"
	"github.com/obscuraproject/obscura/internal/sandbox"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/tesseract"
)

// benchPipeline is `obscura bench pipeline` (issue 25): analysis of a
// 12 MP photo with five faces against the bare models plus one scaled
// decode, the rotated 12 MP ingest, and a sustained import with analysis
// of a mixed library (500 photos; 40 with --quick) with and without the
// sandbox, all in the same run. It reports CPU time beside wall time and
// the load average: the machines it runs on are shared.
func (a *app) benchPipeline(ctx context.Context, quick bool, out map[string]any, b *strings.Builder) error {
	lib, reps := 500, 10
	if quick {
		lib, reps = 40, 4
	}
	fmt.Fprintf(a.stderr, "benchmarking the analysis pipeline (12 MP analyze vs bare ONNX Runtime, rotated ingest, import+analyze of %d photos with and without the sandbox) …\n", lib)
	mdir := models.DefaultDir(a.getenv)
	e, err := mediabench.NewVisionEnv(mdir, 2)
	if err != nil {
		return err
	}
	defer e.Close()
	prot, err := a.sandboxProtections(false)
	if err != nil {
		return err
	}
	cfg := sandbox.Config{Models: mdir, TessData: tesseract.DefaultDir, Threads: 2, Decode: picture.DefaultOptions,
		Limits: sandbox.DefaultLimits, Protections: prot, UID: sandbox.Nobody, GID: sandbox.Nobody, LoadModels: true}
	pool, err := sandbox.Start(ctx, sandbox.Options{Config: cfg, Workers: 1, Log: a.log})
	if err != nil {
		return err
	}
	defer pool.Close()
	steps, err := mediabench.RunSteps(ctx, e, pool, reps)
	if err != nil {
		return err
	}
	out["pipeline_steps"] = steps
	fmt.Fprintf(b, "\n%-48s %10s %10s %8s\n", "12MP analysis step (in process, 2 threads)", "wall ms", "CPU ms", "faults")
	for _, r := range steps {
		fmt.Fprintf(b, "%-48s %10.1f %10.1f %8d\n", r.Step, r.WallMs, r.CPUMs, r.Faults)
	}
	rep, err := mediabench.RunPipeline(ctx, e, pool, lib, reps, a.stderr)
	if err != nil {
		return err
	}
	// The same analysis with one intra-op thread per session (the lanes
	// then use one core each).
	one, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: 1})
	if err != nil {
		return err
	}
	row, err := mediabench.AnalyzeRow(ctx, "analyze 12MP in process, 1 thread/session", one, e.Photo, reps)
	one.Close()
	if err != nil {
		return err
	}
	rep.Rows = append(rep.Rows, row)
	out["pipeline"] = rep
	fmt.Fprintf(b, "\n%-42s %10s %10s %10s %8s %14s\n", "pipeline case (2 threads)", "wall ms", "CPU ms", "photos/s", "faults", "worker faults")
	for _, r := range rep.Rows {
		ps := ""
		if r.PhotosSec > 0 {
			ps = fmt.Sprintf("%.2f", r.PhotosSec)
		}
		fmt.Fprintf(b, "%-42s %10.1f %10.1f %10s %8d %14d\n", r.Case, r.WallMs, r.CPUMs, ps, r.Faults, r.WorkerFaults)
	}
	fmt.Fprintf(b, "analyze (%d faces): %.2fx bare models + one scaled decode by CPU, %.2fx by wall; sandboxed %.2fx in process by CPU\n",
		rep.Faces, rep.AnalyzeVsBareCPU, rep.AnalyzeVsBareWall, rep.SandboxAnalyzeCPU)
	fmt.Fprintf(b, "sandboxed analyze: %.2fx bare models + one scaled decode by CPU (target <= 1.15); picture cache: %.2fx CPU of resending the pixels, %.1f MB sent per analysis instead of %.1f\n",
		rep.SandboxVsBareCPU, rep.CacheCPU, rep.SentMB, rep.SentUncachedMB)
	fmt.Fprintf(b, "rotated 12MP sanitize (sandboxed): %.2fx the upright one by CPU\n", rep.RotatedVsUprightCPU)
	fmt.Fprintf(b, "import+analyze: the sandbox costs %.0f%% of photos/s and %.2fx CPU per photo; load average %.1f before, %.1f after\n",
		100*rep.ImportSandboxCost, rep.ImportSandboxCPU, rep.LoadBefore, rep.LoadAfter)
	return nil
}
