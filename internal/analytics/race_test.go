//go:build race

package analytics

// raceDetector: the race detector slows the privacy audit's 4·10⁵
// mechanism runs about ten-fold; `make unit` runs the audit in its own
// pass without it.
const raceDetector = true
