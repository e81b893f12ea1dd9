package mediabench

import (
	"math"
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want Spread
	}{
		{"none", nil, Spread{}},
		{"one", []float64{3}, Spread{3, 3, 3}},
		{"odd, unsorted", []float64{5, 1, 3}, Spread{3, 1, 5}},
		{"even: mean of the middle two", []float64{4, 1, 2, 10}, Spread{3, 1, 10}},
	} {
		if got := spread(tc.xs); got != tc.want {
			t.Errorf("%s: spread(%v) = %+v, want %+v", tc.name, tc.xs, got, tc.want)
		}
	}
}

// TestSummarize: each configuration is summarised from its own rows only,
// and the ratios are of the medians, the first configuration against the
// second.
func TestSummarize(t *testing.T) {
	vs := []ImportVision{{Case: "a"}, {Case: "b"}}
	r := ImportReport{Rows: []ImportRow{
		{Case: "a", PhotosSec: 2, CPUMs: 300, DrainCPUMs: 200, LoadStart: 1, Load: 2},
		{Case: "b", PhotosSec: 4, CPUMs: 200, DrainCPUMs: 100, LoadStart: 2, Load: 3, runStats: runStats{WorkerStarts: 1}},
		{Case: "b", PhotosSec: 4, CPUMs: 280, DrainCPUMs: 180, LoadStart: 3, Load: 9},
		{Case: "a", PhotosSec: 1, CPUMs: 500, DrainCPUMs: 400, LoadStart: 2, Load: 1},
		{Case: "a", PhotosSec: 3, CPUMs: 360, DrainCPUMs: 280, LoadStart: 1, Load: 1},
	}}
	r.summarize(vs)
	if len(r.Summary) != 2 {
		t.Fatalf("%d summaries, want 2", len(r.Summary))
	}
	a, b := r.Summary[0], r.Summary[1]
	if a.Runs != 3 || a.PhotosSec != (Spread{2, 1, 3}) || a.CPUMs != (Spread{360, 300, 500}) || a.Load != (Spread{1, 1, 2}) {
		t.Errorf("a: %+v", a)
	}
	if b.Runs != 2 || b.PhotosSec != (Spread{4, 4, 4}) || b.CPUMs != (Spread{240, 200, 280}) || b.WorkerStarts != 1 {
		t.Errorf("b: %+v", b)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	if !near(r.SandboxCost, 0.5) || !near(r.SandboxCPU, 1.5) || !near(r.SandboxDrainCPU, 2) {
		t.Errorf("ratios: cost %v, CPU %v, analyses' CPU %v; want 0.5, 1.5, 2", r.SandboxCost, r.SandboxCPU, r.SandboxDrainCPU)
	}
}

// TestProcessProbes: the monitor finds a child process of this one
// (started from any thread) and reads a peak resident size.
func TestProcessProbes(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if got := children(os.Getpid()); !slices.Contains(got, cmd.Process.Pid) {
		t.Errorf("children of this process %v, want %d among them", got, cmd.Process.Pid)
	}
	if rss := peakRSSMiB(os.Getpid()); rss <= 0 {
		t.Errorf("peak RSS of this process %v MiB, want > 0", rss)
	}
	if rss := peakRSSMiB(-1); rss != 0 {
		t.Errorf("peak RSS of no process %v, want 0", rss)
	}
}
