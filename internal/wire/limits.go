package wire

import (
	"context"
	"runtime"
	"time"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/guard"
)

// When the decode gate goes idle after a burst that decoded at least
// releaseAfterMegapixels at once, memory the Go runtime holds from the OS
// beyond heldMemoryRelease is given back (issue 16.2); smaller bursts
// (ordinary phone photos one at a time) leave it to the runtime.
const (
	releaseAfterMegapixels = 24
	heldMemoryRelease      = 64 << 20
)

// admissionGates builds the analysis gate (concurrent analyses, bounded
// queue) and the decode gate (megapixels of uploads decoded at once,
// bounded queue) from the configuration.
func admissionGates(cfg config.Config) (analyses, decodes *guard.Gate) {
	n := cfg.AnalysisConcurrency
	if n <= 0 {
		n = max(1, runtime.NumCPU()/2)
	}
	analyses = guard.NewGate("analysis", guard.GateConfig{Capacity: int64(n), MaxQueue: cfg.AnalysisQueue,
		MaxWait: 10 * time.Second, RetryAfter: 2 * time.Second})
	decodes = guard.NewGate("decode", guard.GateConfig{Capacity: int64(max(1, cfg.DecodeMegapixels)), MaxQueue: cfg.DecodeQueue,
		MaxWait: time.Minute, RetryAfter: 5 * time.Second}).OnIdle(guard.FreeIdleMemory(releaseAfterMegapixels, heldMemoryRelease))
	return analyses, decodes
}

// gatedAnalyzer runs queued analyses through the analysis gate, so
// synchronous and queued analyses share one bound; a job waits for its
// turn instead of failing.
type gatedAnalyzer struct {
	*analysis.Service
	gate *guard.Gate
}

// AnalyzeQueued waits for an analysis slot, then analyses.
func (g gatedAnalyzer) AnalyzeQueued(ctx context.Context, tenant, key, assetID string, features []string) (analysis.Result, error) {
	release, err := g.gate.Wait(ctx, 1)
	if err != nil {
		return analysis.Result{}, err
	}
	defer release()
	return g.Service.AnalyzeQueued(ctx, tenant, key, assetID, features)
}
