package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/mediabench"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// benchImport is `obscura bench import` (issue 25.6): a 500-photo mixed
// library (40 with --quick) through the real `obscura import --analyze
// faces,tags,sensitive`, its queue drained by a jobs node as serve builds
// it, once with the analyses in serve's sandboxed worker pool and once
// with them in process; photos/s, CPU per photo and the ratio.
func (a *app) benchImport(ctx context.Context, quick bool, dir string, out map[string]any, b *strings.Builder) error {
	n := 500
	if quick {
		n = 40
	}
	fmt.Fprintf(a.stderr, "benchmarking `obscura import --analyze faces,tags,sensitive` of a %d-photo mixed library until every queued analysis is done, sandboxed and in process …\n", n)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	mdir := models.DefaultDir(a.getenv)
	lib, err := mediabench.PinnedLibrary(mdir, n)
	if err != nil {
		return err
	}
	sandboxed := mediabench.ImportVision{Case: "import --analyze, sandboxed", Open: func(ctx context.Context) (wire.Vision, func() []int, func() error, error) {
		pool, err := a.startPool(ctx, sandboxWorkers, true, false)
		if err != nil {
			return nil, nil, nil, err
		}
		// Every worker up and warm before the clock starts, as in a
		// serve that has been running: pairs of analyses until the pool
		// has grown to its size (it starts workers on demand).
		for range 20 {
			if len(pool.PIDs()) >= sandboxWorkers {
				break
			}
			var wg sync.WaitGroup
			for range sandboxWorkers {
				wg.Go(func() { pool.Analyze(ctx, lib[0], mediabench.ImportFeatures) })
			}
			wg.Wait()
		}
		return pool, pool.PIDs, pool.Close, nil
	}}
	inProcess := mediabench.ImportVision{Case: "import --analyze, analyses in process", Insecure: true, Open: func(ctx context.Context) (wire.Vision, func() []int, func() error, error) {
		eng, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: a.visionThreads()})
		if err != nil {
			return nil, nil, nil, err
		}
		eng.Analyze(ctx, lib[0], mediabench.ImportFeatures) // warm, like the workers
		return eng, nil, eng.Close, nil
	}}
	rep, err := mediabench.RunImportCLI(ctx, exe, dir, lib, []mediabench.ImportVision{sandboxed, inProcess}, a.stderr)
	if err != nil {
		return err
	}
	out["import"] = rep
	fmt.Fprintf(b, "\n%-40s %7s %10s %14s %12s %14s %9s %11s\n", fmt.Sprintf("import --analyze (%d photos)", n), "photos", "photos/s", "CPU ms/photo", "of it import", "of it analyses", "import s", "analyses s")
	for _, r := range rep.Rows {
		fmt.Fprintf(b, "%-40s %7d %10.2f %14.1f %12.1f %14.1f %9.1f %11.1f\n", r.Case, r.Photos, r.PhotosSec, r.CPUMs, r.ImportCPUMs, r.DrainCPUMs, r.ImportS, r.DrainS)
	}
	fmt.Fprintf(b, "import --analyze: the sandbox costs %.0f%% of photos/s, %.2fx CPU per photo, %.2fx the analyses' CPU (target <= 10%%); load average %.1f before\n",
		100*rep.SandboxCost, rep.SandboxCPU, rep.SandboxDrainCPU, rep.LoadBefore)
	return nil
}
