package main

// CPU lanes of serve (issue 17.6). Analyses are heavy (seconds of CPU on
// every core ONNX Runtime gets) and admission-controlled; reads and
// uploads are cheap and a client waits for each. So that the cheap
// requests keep their latency while analyses saturate the CPU:
//
//   - the analysis workers run analysisNice nicer than the server: the
//     server's own threads (HTTP, SQLite, sealing) and the sanitizers get
//     a core first whenever they need one, the analyses take what is left;
//   - uploads are sanitized in their own pool of model-less workers at
//     the server's priority, so an upload never waits for a worker busy
//     with an analysis.
//
// docs/perf.md has the measurements.

// analysisNice is how much nicer than the server the analysis workers
// run: at nice 10 a runnable thread gets about a tenth of the CPU share
// of a nice-0 one (CFS weights 110 : 1024), so it yields a contended core
// to the server almost at once and still uses every idle core fully.
const analysisNice = 10

// sanitizeWorkers is the most sanitize-only workers serve starts (one at
// start, another when an upload finds it busy). They load no models, so
// each is a few MB and starts in milliseconds.
const sanitizeWorkers = 2

// workerNice is the Nice of a pool's workers: analysis workers (those
// that load models) are niced, sanitize-only workers are not.
func workerNice(withModels bool) int {
	if withModels {
		return analysisNice
	}
	return 0
}
