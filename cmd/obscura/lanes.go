package main

// CPU lanes of serve (issue 17.6). Analyses are heavy (seconds of CPU on
// every core ONNX Runtime gets) and admission-controlled; reads and
// uploads are cheap and a client waits for each. So that the cheap
// requests keep their latency while analyses saturate the CPU:
//
//   - the analysis workers can run nicer than the server (analysis_nice,
//     default 0; 10 on a host that runs nothing else): the server's own
//     threads (HTTP, SQLite, sealing) and the sanitizers then get a core
//     first whenever they need one, the analyses take what is left. Not
//     the default: on a host shared with other work (CI, other services)
//     niced workers yield to all of it, and their model loading and
//     analyses can stretch past the worker's request timeout;
//   - uploads are sanitized in their own pool of model-less workers at
//     the server's priority, so an upload never waits for a worker busy
//     with an analysis.
//
// docs/perf.md has the measurements.

// sanitizeWorkers is the most sanitize-only workers serve starts (one at
// start, another when an upload finds it busy). They load no models, so
// each is a few MB and starts in milliseconds.
const sanitizeWorkers = 2

// workerNice is the Nice of a pool's workers: analysis workers (those
// that load models) run analysis_nice nicer than the server, sanitize-only
// workers at its priority.
func (a *app) workerNice(withModels bool) int {
	if withModels {
		return a.cfg.AnalysisNice
	}
	return 0
}
