package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A start of `obscura serve` costs several seconds of CPU (its workers load
// every model: about 8-9 s of user+sys measured per start, plugin cache
// seeded) and about a gigabyte per analysis worker. Tests that need no
// installation of their own share one server, started by the first of them
// and stopped by TestMain: each makes its own tenant (own keys, subjects,
// rate-limit buckets, audit chain and key versions), so they cannot see
// each other's data through the API.
//
// A test keeps its own server (startServer) when it needs other settings
// than sharedEnv, scans the data directory or counts rows or blobs
// installation-wide, sets installation-wide switches (global kill switch,
// tenants listed, the installation's console), measures the server
// process (RSS, workers, nice values), exhausts a limit shared by every
// client (the per-address upload bucket), or stops, kills or restarts it.

// sharedEnv is the shared server's configuration beyond the defaults, each
// setting for a test that runs on it or so that the tests running on it at
// once (-parallel) cannot affect each other:
//   - sweeps every second (TestConsentExpiryPurgesOnRealServer);
//   - /metrics behind a token (TestSecurityRegressions);
//   - an analysis gate no test fills: with the default one slot per two
//     CPUs and a 10 s wait, one test's analyses could make another's wait
//     out (503 overloaded); the worker pool (2 workers, 60 s queue) still
//     bounds what runs. Admission is TestLoadShedding's, on its own server;
//   - a per-address upload bucket no test exhausts: every test uploads
//     from 127.0.0.1. The default bucket is TestSecurityLimitsRateClasses',
//     on its own server.
func sharedEnv(config string) []string {
	return []string{
		"OBSCURA_SWEEP_EVERY=1s",
		"OBSCURA_METRICS_TOKEN=" + sharedMetricsToken,
		"OBSCURA_ANALYSIS_CONCURRENCY=8",
		"OBSCURA_ANALYSIS_QUEUE=64",
		"OBSCURA_CONFIG=" + config,
	}
}

// sharedConfig is the shared server's config file (rate limits are set in
// the file only).
const sharedConfig = "rate_limits:\n  addresses:\n    upload: {per_second: 1000, burst: 1000}\n"

// sharedMetricsToken guards the shared server's /metrics.
const sharedMetricsToken = "e2e-metrics-token-7c1f"

var shared struct {
	once sync.Once
	s    *server
	data string
	err  error
}

// sharedServer returns the shared server and its data directory, starting
// it on the first call.
func sharedServer(t *testing.T) (*server, string) {
	t.Helper()
	shared.once.Do(func() {
		root, err := os.MkdirTemp("", "obscura-e2e-shared")
		if err != nil {
			shared.err = err
			return
		}
		runDirs.add(root)
		config := filepath.Join(root, "obscura.yaml")
		shared.data = filepath.Join(root, "data")
		if err := os.WriteFile(config, []byte(sharedConfig), 0o600); err != nil {
			shared.err = err
			return
		}
		bin := os.Getenv("OBSCURA_E2E_BINARY") // as startServer
		if bin == "" {
			if bin, err = binary(); err != nil {
				shared.err = fmt.Errorf("build: %w", err)
				return
			}
		}
		shared.s, shared.err = launch(bin, shared.data, sharedEnv(config))
	})
	if shared.err != nil {
		t.Fatalf("shared server: %v", shared.err)
	}
	return shared.s, shared.data
}

// runDirs are the temporary directories of the run (builds, the shared
// installation), removed by TestMain.
var runDirs dirList

type dirList struct {
	mu   sync.Mutex
	dirs []string
}

func (l *dirList) add(dir string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirs = append(l.dirs, dir)
}

// TestMain runs the tests, then stops the shared server and removes the
// run's temporary directories.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		shared.s.stop()
	}
	runDirs.mu.Lock()
	for _, d := range runDirs.dirs {
		os.RemoveAll(d)
	}
	runDirs.mu.Unlock()
	os.Exit(code)
}
