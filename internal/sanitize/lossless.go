package sanitize

import "sync"

// maxScratch bounds the buffer kept between rotations (a 12 MP photo's
// needs 6 MB; larger ones allocate their own).
const maxScratch = 32 << 20

// scratch is one rotation's output buffer (jpegtran.OrientInto's), kept
// for the next: in a worker a fresh one every request cost ≈ 200 more page
// faults (the Go heap returns freed spans to the kernel; ≈ 20 µs each on
// this project's VMs).
var scratch struct {
	sync.Mutex
	b []byte
}

// takeScratch returns the kept buffer, if any, and forgets it.
func takeScratch() []byte {
	scratch.Lock()
	defer scratch.Unlock()
	b := scratch.b
	scratch.b = nil
	return b
}

// keepScratch keeps b for the next rotation (its bytes are not read again:
// nothing may still refer to them).
func keepScratch(b []byte) {
	if cap(b) > maxScratch {
		return
	}
	scratch.Lock()
	defer scratch.Unlock()
	if cap(b) > cap(scratch.b) {
		scratch.b = b[:0]
	}
}
