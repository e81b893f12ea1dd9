package mediabench

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ImportReport compares the configurations of RunImportCLI over its
// repetitions: every run in the order it ran, each configuration's median
// and range, and the ratios of the medians (the first configuration
// against the second).
type ImportReport struct {
	Rows    []ImportRow     `json:"rows"`
	Summary []ImportSummary `json:"summary"`
	// Reps is the number of measured runs per configuration, Warm the
	// photos of each configuration's discarded warm-up import.
	Reps int `json:"reps"`
	Warm int `json:"warm_photos"`
	// SandboxCost is 1 − the ratio of the median photos per second,
	// SandboxCPU the ratio of the median CPU per photo, SandboxDrainCPU
	// that of the analyses' CPU alone (the import step is the same code
	// in both configurations).
	SandboxCost     float64 `json:"sandbox_cost"`
	SandboxCPU      float64 `json:"sandbox_cpu_ratio"`
	SandboxDrainCPU float64 `json:"sandbox_analyses_cpu_ratio"`
	LoadBefore      float64 `json:"load_before"`
}

// Spread is a measured quantity's median and range over the runs.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// spread is the Spread of xs (zero if empty); the median of an even
// count is the mean of the middle two.
func spread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// ImportSummary is one configuration over its runs.
type ImportSummary struct {
	Case        string `json:"case"`
	Runs        int    `json:"runs"`
	PhotosSec   Spread `json:"photos_per_s"`
	CPUMs       Spread `json:"cpu_ms_per_photo"`
	ImportCPUMs Spread `json:"import_cpu_ms_per_photo"`
	DrainCPUMs  Spread `json:"analyses_cpu_ms_per_photo"`
	// DrainSelfCPUMs is this process's share of DrainCPUMs.
	DrainSelfCPUMs Spread `json:"analyses_self_cpu_ms_per_photo"`
	// DrainSelfFaults is the median of this process's minor page faults
	// per photo during the analyses.
	DrainSelfFaults float64 `json:"analyses_self_faults_per_photo"`
	// Load spans the 1-minute load average at the runs' starts and ends.
	Load Spread `json:"load"`
	// WorkerStarts is the most analysis workers started during one run
	// (0: the warm pool served every photo).
	WorkerStarts int `json:"worker_starts"`
	// WorkerRSSMiB and SanitizerRSSMiB are the largest peak resident
	// sizes seen of an analysis worker and of the CLI's sanitizing worker.
	WorkerRSSMiB    float64 `json:"worker_rss_mib"`
	SanitizerRSSMiB float64 `json:"sanitizer_rss_mib"`
	// WorkerFaults is the median of the analysis workers' minor page
	// faults per photo.
	WorkerFaults float64 `json:"worker_faults_per_photo"`
}

// summarize fills the summaries and ratios from the rows.
func (r *ImportReport) summarize(vs []ImportVision) {
	r.Summary = nil
	for _, v := range vs {
		s := ImportSummary{Case: v.Case}
		var ps, cpu, imp, drain, self, selfFaults, load, faults []float64
		for _, row := range r.Rows {
			if row.Case != v.Case {
				continue
			}
			s.Runs++
			ps, cpu, imp, drain = append(ps, row.PhotosSec), append(cpu, row.CPUMs), append(imp, row.ImportCPUMs), append(drain, row.DrainCPUMs)
			self, selfFaults = append(self, row.DrainSelfCPUMs), append(selfFaults, row.DrainSelfFaults)
			load, faults = append(load, row.LoadStart, row.Load), append(faults, row.WorkerFaults)
			s.WorkerStarts = max(s.WorkerStarts, row.WorkerStarts)
			s.WorkerRSSMiB = max(s.WorkerRSSMiB, row.WorkerRSSMiB)
			s.SanitizerRSSMiB = max(s.SanitizerRSSMiB, row.SanitizerRSSMiB)
		}
		s.PhotosSec, s.CPUMs, s.ImportCPUMs, s.DrainCPUMs, s.Load = spread(ps), spread(cpu), spread(imp), spread(drain), spread(load)
		s.WorkerFaults, s.DrainSelfCPUMs, s.DrainSelfFaults = spread(faults).Median, spread(self), spread(selfFaults).Median
		r.Summary = append(r.Summary, s)
	}
	if len(r.Summary) == 2 {
		a, b := r.Summary[0], r.Summary[1]
		if b.PhotosSec.Median > 0 && b.CPUMs.Median > 0 && b.DrainCPUMs.Median > 0 {
			r.SandboxCost = 1 - a.PhotosSec.Median/b.PhotosSec.Median
			r.SandboxCPU = a.CPUMs.Median / b.CPUMs.Median
			r.SandboxDrainCPU = a.DrainCPUMs.Median / b.DrainCPUMs.Median
		}
	}
}

// runStats is what a monitor saw of the processes during one run.
type runStats struct {
	// WorkerStarts counts analysis workers that appeared during the run
	// (a worker replaced after a crash, hang or CPU limit, or the pool
	// growing).
	WorkerStarts int `json:"worker_starts"`
	// WorkerRSSMiB is the largest peak resident size (VmHWM) of an
	// analysis worker, SanitizerRSSMiB that of the CLI's children (its
	// sanitizing worker).
	WorkerRSSMiB    float64 `json:"worker_rss_mib"`
	SanitizerRSSMiB float64 `json:"sanitizer_rss_mib"`
	// WorkerFaults is the analysis workers' minor page faults per photo.
	WorkerFaults float64 `json:"worker_faults_per_photo"`
}

// monitor samples the analysis workers and the CLI's children every
// monitorEvery while a run lasts.
type monitor struct {
	pids func() []int
	mu   sync.Mutex
	cli  int // the CLI's pid, 0 when none runs
	seen map[int]bool
	st   runStats
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

const monitorEvery = 100 * time.Millisecond

// startMonitor starts sampling; the workers alive now are not counted as
// started.
func startMonitor(pids func() []int) *monitor {
	m := &monitor{pids: pids, seen: map[int]bool{}, done: make(chan struct{})}
	if pids != nil {
		for _, pid := range pids() {
			m.seen[pid] = true
		}
	}
	m.wg.Go(func() {
		t := time.NewTicker(monitorEvery)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	})
	return m
}

// watchChildren makes the monitor watch the children of pid (0: none).
func (m *monitor) watchChildren(pid int) {
	m.sample()
	m.mu.Lock()
	m.cli = pid
	m.mu.Unlock()
	m.sample()
}

func (m *monitor) sample() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pids != nil {
		for _, pid := range m.pids() {
			if !m.seen[pid] {
				m.seen[pid] = true
				m.st.WorkerStarts++
			}
			m.st.WorkerRSSMiB = max(m.st.WorkerRSSMiB, peakRSSMiB(pid))
		}
	}
	if m.cli != 0 {
		for _, pid := range children(m.cli) {
			m.st.SanitizerRSSMiB = max(m.st.SanitizerRSSMiB, peakRSSMiB(pid))
		}
	}
}

// stop ends the sampling (once) and returns what it saw.
func (m *monitor) stop() runStats {
	m.once.Do(func() { close(m.done) })
	m.wg.Wait()
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// children is the child processes of pid, from every one of its threads'
// /proc children lists (a Go program forks from whichever thread runs).
func children(pid int) []int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// peakRSSMiB is a process's peak resident set size (VmHWM) in MiB (0 if
// unreadable).
func peakRSSMiB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v) // "123456 kB"
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
