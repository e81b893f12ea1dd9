package sandbox

import (
	"os"

	"golang.org/x/sys/unix"
)

// mallocTunables is the C allocator's configuration of a worker (glibc
// reads GLIBC_TUNABLES once, at exec; the re-exec into stage 2 keeps it).
//
// A worker's decoders allocate large, short-lived buffers for every image
// — a lossless rotation of a 12 MP JPEG holds ≈ 70 MB of DCT coefficient
// arrays, a decode its working rows — from whatever thread the Go runtime
// makes the call on. With glibc's defaults those land in per-thread arenas
// whose 64 MB heaps are unmapped as soon as they empty, or in fresh
// mmaps, so every image faults its buffers in again; on this project's
// 2-core VMs a fault costs ≈ 20 µs and the faults were most of the
// rotation's CPU time (measured: 22,000 faults and ≈ 600 ms of CPU per
// 12 MP rotation before, 0–100 faults and ≈ 130 ms after; docs/perf.md).
// One arena (the worker serves one request at a time), large blocks from
// the heap rather than mmap, and trimming only above 1 GiB keep them warm.
// The memory kept is bounded by the largest image's peak, which the
// worker's address-space limit already bounds. Setting these later with
// mallopt does not help: the arenas already exist by then.
const mallocTunables = "GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824"

// pipeSize is the kernel buffer of the request and reply pipes: the
// 12 MB of pixels a 12 MP analysis sends cross a 64 KiB default pipe in
// ≈ 180 wake-ups of each process; at 1 MiB (the unprivileged maximum,
// /proc/sys/fs/pipe-max-size) in ≈ 12.
const pipeSize = 1 << 20

// widenPipe sets f's pipe buffer to pipeSize; a kernel that refuses keeps
// the default (slower, not wrong).
func widenPipe(f *os.File) {
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeSize)
}
