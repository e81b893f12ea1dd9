//go:build !race

package sandbox

// raceEnabled: the test binary runs without the race detector.
const raceEnabled = false
