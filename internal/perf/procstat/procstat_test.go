package procstat

import (
	"os"
	"testing"
	"time"
)

// TestProbes: the probes read this very process from /proc and getrusage,
// and they move when it works: burning CPU raises CPU and WorkersCPU (its
// own pid listed as a worker), touching fresh memory raises MinorFaults.
func TestProbes(t *testing.T) {
	self := func() []int { return []int{os.Getpid()} }
	c0, w0, f0 := CPU(nil), WorkersCPU(self), MinorFaults()
	// Burn 200 ms of CPU (by getrusage; a minute's wall time at most, so
	// a loaded machine only makes it slower).
	deadline := time.Now().Add(time.Minute)
	x := 0
	for CPU(nil)-c0 < 200*time.Millisecond && time.Now().Before(deadline) {
		for range 100000 {
			x++
		}
	}
	buf := make([]byte, 32<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(x)
	}
	if d := CPU(nil) - c0; d < 200*time.Millisecond {
		t.Errorf("CPU moved %v in a minute of busy loop", d)
	}
	// /proc counts in 10 ms clock ticks: 200 ms burnt reads as ≥ 150.
	if d := WorkersCPU(self) - w0; d < 150*time.Millisecond {
		t.Errorf("WorkersCPU of this pid moved %v after 200 ms of CPU", d)
	}
	if d := MinorFaults() - f0; d < 1000 {
		t.Errorf("MinorFaults moved %d after touching 8,192 fresh pages", d)
	}
	if WorkerFaults(self) <= 0 {
		t.Error("WorkerFaults of this pid is 0")
	}
	if WorkersCPU(func() []int { return []int{1 << 30} }) != 0 || WorkerFaults(nil) != 0 {
		t.Error("a vanished pid or no pids count something")
	}
	if l := LoadAverage(); l < 0 {
		t.Errorf("load average %v", l)
	}
}
