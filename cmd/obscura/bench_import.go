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
// it, with the analyses in serve's sandboxed worker pool and in process,
// reps runs each interleaved ABBA after a discarded warm-up import per
// configuration; photos/s and CPU per photo (median and range) and the
// ratios of the medians.
func (a *app) benchImport(ctx context.Context, quick bool, reps int, dir string, out map[string]any, b *strings.Builder) error {
	n, warm := 500, 40
	if quick {
		n, warm = 40, 16
	}
	if reps <= 0 {
		reps = 3
		if quick {
			reps = 2
		}
	}
	fmt.Fprintf(a.stderr, "benchmarking `obscura import --analyze faces,tags,sensitive` of a %d-photo mixed library until every queued analysis is done, sandboxed and in process, %d runs each (ABBA) after a %d-photo warm-up …\n", n, reps, warm)
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
		// Every worker up before the warm-up import, as in a serve that
		// has been running: pairs of analyses until the pool has grown
		// to its size (it starts workers on demand).
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
		return eng, nil, eng.Close, nil
	}}
	rep, err := mediabench.RunImportCLI(ctx, exe, dir, lib, []mediabench.ImportVision{sandboxed, inProcess}, reps, warm, a.stderr)
	if err != nil {
		return err
	}
	out["import"] = rep
	fmt.Fprintf(b, "\n%-40s %4s %22s %24s %18s %18s %6s %8s %8s %10s\n", fmt.Sprintf("import --analyze (%d photos)", n), "runs", "photos/s med (min-max)", "CPU ms/photo med (range)", "of it import", "of it analyses", "starts", "wkr MiB", "san MiB", "load")
	for _, s := range rep.Summary {
		fmt.Fprintf(b, "%-40s %4d %22s %24s %18s %18s %6d %8.0f %8.0f %10s\n", s.Case, s.Runs, spreadText(s.PhotosSec, 2), spreadText(s.CPUMs, 0), spreadText(s.ImportCPUMs, 0), spreadText(s.DrainCPUMs, 0),
			s.WorkerStarts, s.WorkerRSSMiB, s.SanitizerRSSMiB, fmt.Sprintf("%.1f-%.1f", s.Load.Min, s.Load.Max))
	}
	for _, s := range rep.Summary {
		fmt.Fprintf(b, "%-40s analyses: this process %s CPU ms/photo, %.0f faults/photo; workers %.0f faults/photo\n", s.Case, spreadText(s.DrainSelfCPUMs, 0), s.DrainSelfFaults, s.WorkerFaults)
	}
	fmt.Fprintf(b, "import --analyze: the sandbox costs %.0f%% of photos/s, %.2fx CPU per photo, %.2fx the analyses' CPU (ratios of medians; target <= 10%%); load average %.1f before\n",
		100*rep.SandboxCost, rep.SandboxCPU, rep.SandboxDrainCPU, rep.LoadBefore)
	return nil
}

// spreadText is "median (min-max)" with prec decimals.
func spreadText(s mediabench.Spread, prec int) string {
	return fmt.Sprintf("%.*f (%.*f-%.*f)", prec, s.Median, prec, s.Min, prec, s.Max)
}
