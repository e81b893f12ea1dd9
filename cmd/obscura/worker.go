package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/mediabench"
	"github.com/obscuraproject/obscura/internal/sandbox"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/ppocr"
	"github.com/obscuraproject/obscura/internal/vision/tesseract"
	"github.com/obscuraproject/obscura/internal/wire"
)

// sandboxWorkers is the size of serve's worker pool: each worker holds
// its own warm model sessions (about 1 GB), and the analysis gate bounds
// how many analyses run at once anyway.
const sandboxWorkers = 2

// workerCmd is the hidden `obscura worker`: a sandboxed decoding and
// inference process that `obscura serve` (and the local analysis
// commands) start themselves. It refuses to run without the supervisor's
// configuration.
func (a *app) workerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Sandboxed decoding and inference worker (started by obscura itself)",
		Hidden: true,
		Args:   cobra.NoArgs,
		// No configuration, data directory or log setup: a worker knows
		// only what its supervisor passed it.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(*cobra.Command, []string) error {
			os.Exit(sandbox.Main(loadWorkerEngine, nil))
			return nil
		},
	}
}

// loadWorkerEngine loads the verified models inside a worker.
func loadWorkerEngine(c sandbox.Config) (sandbox.Engine, error) {
	return vision.Open(models.Pinned(), c.Models, vision.Options{Threads: c.Threads, Decode: c.Decode, TessData: c.TessData})
}

// insecureFlag registers --insecure-no-sandbox on cmd.
func insecureFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "insecure-no-sandbox", false,
		"start even if the kernel lacks a sandbox protection (Landlock ABI >= 4, seccomp): workers run with what is left")
}

// sandboxProtections is what the workers will apply: everything, or —
// only with insecure — everything this kernel has. Missing protections
// are logged either way.
func (a *app) sandboxProtections(insecure bool) (sandbox.Protections, error) {
	missing := sandbox.Missing()
	if len(missing) == 0 {
		return sandbox.All, nil
	}
	for _, m := range missing {
		a.log.Error("sandbox protection missing", "component", "sandbox", "protection", m)
	}
	if !insecure {
		return 0, fmt.Errorf("the kernel lacks %s for the worker sandbox (run with --insecure-no-sandbox to start without it)", strings.Join(missing, " and "))
	}
	p := sandbox.All
	for _, m := range missing {
		switch {
		case strings.HasPrefix(m, "landlock"):
			p &^= sandbox.Landlock
		case strings.HasPrefix(m, "seccomp"):
			p &^= sandbox.Seccomp
		}
	}
	a.log.Warn("running workers WITHOUT the missing sandbox protections (--insecure-no-sandbox)", "component", "sandbox")
	return p, nil
}

// startPool starts n sandboxed workers; withModels loads the vision
// engine in each (false: decoding and sanitizing only).
func (a *app) startPool(ctx context.Context, n int, withModels, insecure bool) (*sandbox.Pool, error) {
	prot, err := a.sandboxProtections(insecure)
	if err != nil {
		return nil, err
	}
	if withModels {
		// Verified here first, so a tampered or missing model stops the
		// command with its own message; each worker verifies again as it loads.
		m, dir := models.Pinned(), models.DefaultDir(a.getenv)
		for _, name := range []string{"libonnxruntime.so.1", blazeface.ModelFile, faceres.ModelFile, arcface.ModelFile, centernet.ModelFile, nsfw.ModelFile, ppocr.DetectorFile} {
			b, err := m.Load(dir, name)
			if err != nil {
				return nil, err
			}
			clear(b)
		}
	}
	cfg := sandbox.Config{
		Models: models.DefaultDir(a.getenv), TessData: tesseract.DefaultDir, Threads: a.visionThreads(),
		Decode: picture.DefaultOptions, Limits: sandbox.DefaultLimits, Protections: prot,
		UID: sandbox.Nobody, GID: sandbox.Nobody, LoadModels: withModels,
	}
	p, err := sandbox.Start(ctx, sandbox.Options{Config: cfg, Workers: n, Log: a.log})
	if err != nil {
		return nil, fmt.Errorf("vision workers: %w", err)
	}
	return p, nil
}

// openSandboxed builds the object graph with every decode and model run
// in the pool's workers.
func (a *app) openSandboxed(ctx context.Context, pool *sandbox.Pool) (*wire.Graph, error) {
	if err := a.checkInstallation(a.install); err != nil {
		return nil, err
	}
	return wire.Open(ctx, wire.Options{Config: a.cfg, Getenv: a.getenv, Clock: a.clk, Log: a.log, Vision: pool, Sanitizer: pool})
}

// benchSandbox measures one sandboxed worker (2 threads) against the same
// models in process and bare, in the same run.
func (a *app) benchSandbox(ctx context.Context) (mediabench.SandboxReport, error) {
	e, err := mediabench.NewVisionEnv(models.DefaultDir(a.getenv), 2)
	if err != nil {
		return mediabench.SandboxReport{}, err
	}
	defer e.Close()
	prot, err := a.sandboxProtections(false)
	if err != nil {
		return mediabench.SandboxReport{}, err
	}
	cfg := sandbox.Config{Models: models.DefaultDir(a.getenv), TessData: tesseract.DefaultDir, Threads: 2, Decode: picture.DefaultOptions,
		Limits: sandbox.DefaultLimits, Protections: prot, UID: sandbox.Nobody, GID: sandbox.Nobody, LoadModels: true}
	pool, err := sandbox.Start(ctx, sandbox.Options{Config: cfg, Workers: 1, Log: a.log})
	if err != nil {
		return mediabench.SandboxReport{}, err
	}
	defer pool.Close()
	return mediabench.RunSandbox(ctx, e, pool)
}
