package picture

import "testing"

// TestRetainHeap: glibc accepts the allocator settings (a libc that does
// not would leave the decoders faulting their buffers in on every image),
// and a second call changes nothing.
func TestRetainHeap(t *testing.T) {
	if !RetainHeap() {
		t.Fatal("mallopt refused the heap settings")
	}
	if !RetainHeap() {
		t.Fatal("second call reported failure")
	}
}
