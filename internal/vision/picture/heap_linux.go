package picture

/*
#include <malloc.h>

// obscura_retain_heap keeps freed C heap memory in the process instead of
// returning it to the kernel after every image: large blocks come from the
// heap (not a fresh mmap each time) and the heap top is trimmed only above
// 1 GiB; at most two arenas, so the warm memory is found again whichever
// thread makes the next call. Returns 1 when every setting was accepted.
static int obscura_retain_heap(void) {
	int ok = mallopt(M_MMAP_THRESHOLD, 256 << 20);
	ok &= mallopt(M_TRIM_THRESHOLD, 1024 << 20);
	ok &= mallopt(M_ARENA_MAX, 2);
	return ok;
}
*/
import "C"

import "sync"

var retainOnce = sync.OnceValue(func() bool { return C.obscura_retain_heap() == 1 })

// RetainHeap tunes the C allocator (glibc malloc) of this process so that
// the large, short-lived buffers libjpeg-turbo allocates per image — the
// coefficient arrays of a lossless rotation (≈ 35 MB for 12 MP), the
// decoder's working rows — are reused from one image to the next instead
// of being unmapped and faulted in again. On this project's 2-core VMs a
// page fault costs ≈ 20 µs, and the faults were most of a 12 MP rotation's
// CPU time (≈ 530 ms of CPU before, ≈ 85 ms after; docs/perf.md).
//
// The cost is memory kept mapped after a peak (bounded by the peak
// itself, per arena, at most two arenas). Call it once, early, in
// processes that decode many images: the sandboxed worker does, and the
// server when it decodes in process. It reports whether glibc accepted
// the settings; calling it again does nothing.
func RetainHeap() bool { return retainOnce() }
