//go:build !race

package analytics

// raceDetector: see race_test.go.
const raceDetector = false
