//go:build race

package sandbox

// raceEnabled: this test binary (and so the worker it starts) runs under
// the race detector, whose shadow memory faults pages of its own.
const raceEnabled = true
