// Package importbench measures `obscura import --analyze` end to end: the
// real CLI as a child process on a mixed library, its queued analyses
// drained by a jobs node with the sandboxed workers and with the analyses
// in process, interleaved (ABBA) after a warm-up per configuration, and
// reports median and range of photos/s and CPU per photo, and their ratio.
package importbench
